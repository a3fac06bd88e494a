// Package e2e holds Kustodian's end-to-end tests: each starts a real server
// (in-process, on a free port, with its own data directory and development
// CA) and drives it as users do — with the official azure-sdk-for-go clients
// and with raw HTTP replays of the requests printed in the seed document.
package e2e
