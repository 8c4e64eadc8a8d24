package metrics

// SetAccounts makes the configured accounts (the config's aws block, as
// resolved at each full sync) the account label's values, so that an
// organization of more than DefaultMaxKinds accounts keeps one series per
// account, and a stray value (an event naming an account not read) counts
// as other.
func (m *Metrics) SetAccounts(accounts ...string) {
	if m != nil {
		m.accounts.allow(accounts)
	}
}
