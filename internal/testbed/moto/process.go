package moto

// Launch starts a moto_server of the caller's own, outside a test (the
// bench command's org scenario): found as Start finds it, on a free
// loopback port, killed with this process (the parent-death signal) or by
// Close. Unlike Start it is not shared and needs no testing.TB.
func Launch() (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	return launch(bin)
}

// Close stops a server from Launch and waits for it to exit. Never call
// it on Start's shared server: other tests of the binary still use it.
func (s *Server) Close() { s.kill() }
