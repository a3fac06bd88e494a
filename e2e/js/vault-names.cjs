// Resolve *.vault.localhost to the loopback address (Kustodian's vaults), as
// an /etc/hosts line would for each vault, without root. Preload it:
// NODE_OPTIONS="--require /path/to/vault-names.cjs".
const dns = require("node:dns");

const lookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
  if (typeof hostname === "string" && hostname.toLowerCase().replace(/\.$/, "").endsWith(".vault.localhost")) {
    hostname = "127.0.0.1";
  }
  return lookup.call(this, hostname, options, callback);
};
