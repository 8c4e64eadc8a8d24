//go:build race

package jq

// raceDetector is true under -race, whose instrumentation changes what the
// runtime allocates; allocation figures are then not the program's own.
const raceDetector = true
