// Package e2e holds Kustodian's end-to-end tests: each starts a real server
// (in-process, on a free port, with its own data directory and development
// CA) and drives it as users do — with the official azure-sdk-for-go clients,
// with raw HTTP replays of the requests printed in the seed document, and,
// where KUSTODIAN_TEST_AZCLI, KUSTODIAN_TEST_PYTHON or KUSTODIAN_TEST_NODE
// say they are installed, with the Azure CLI and the Python and JavaScript
// SDKs (clients_test.go).
package e2e
