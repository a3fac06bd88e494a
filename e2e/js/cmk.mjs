// Slices of the seed's customer-managed key procedure through the Azure SDK
// for JavaScript (@azure/identity, @azure/arm-operationalinsights,
// @azure/keyvault-keys, @azure/monitor-query), each configured only with
// Kustodian's endpoint and credentials.
//
// e2e/node_test.go runs it: `node cmk.mjs SLICE` with the server's
// bootstrap.json in KUSTODIAN_BOOTSTRAP and the slice's inputs as JSON in
// KUSTODIAN_INPUT; each slice prints its results as one JSON object. The
// development CA is trusted through NODE_EXTRA_CA_CERTS and vault names
// resolve through vault-names.cjs (NODE_OPTIONS=--require).

import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { ClientSecretCredential } from "@azure/identity";
import { OperationalInsightsManagementClient } from "@azure/arm-operationalinsights";
import { CryptographyClient, KeyClient } from "@azure/keyvault-keys";
import { LogsQueryClient, LogsQueryResultStatus } from "@azure/monitor-query";

const boot = JSON.parse(readFileSync(process.env.KUSTODIAN_BOOTSTRAP, "utf8"));
const input = JSON.parse(process.env.KUSTODIAN_INPUT || "{}");
const endpoint = boot.endpoint; // ends in "/"

// The tenant's authority, {endpoint}{tenant}, without instance discovery.
const credential = new ClientSecretCredential(boot.tenantId, boot.clientId, boot.clientSecret, {
  authorityHost: endpoint,
  disableInstanceDiscovery: true,
});

function operationalInsights() {
  return new OperationalInsightsManagementClient(credential, boot.subscriptionId, {
    endpoint,
    credentialScopes: ["https://management.azure.com/.default"],
  });
}

const slices = {
  // A cluster (waiting for the long-running operation) and a workspace.
  async "arm-cluster"() {
    const client = operationalInsights();
    let cluster = await client.clusters.beginCreateOrUpdateAndWait("rg-js", "cluster-js", {
      location: "eastus",
      identity: { type: "SystemAssigned" },
      sku: { name: "CapacityReservation", capacity: 1000 },
    });
    for (let i = 0; i < 100 && cluster.provisioningState !== "Succeeded"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      cluster = await client.clusters.get("rg-js", "cluster-js");
    }
    const ws = await client.workspaces.beginCreateOrUpdateAndWait("rg-js", "ws-js", { location: "eastus" });
    return {
      clusterId: cluster.id,
      clusterState: cluster.provisioningState,
      principalId: cluster.identity.principalId,
      workspaceId: ws.customerId,
    };
  },

  // A key created, read back and used to wrap and unwrap.
  async keys() {
    const client = new KeyClient(input.vaultUri, credential);
    const key = await client.createRsaKey("cmk", { keySize: 2048 });
    const got = await client.getKey("cmk");
    const crypto = new CryptographyClient(key, credential);
    const aek = randomBytes(32);
    const wrapped = await crypto.wrapKey("RSA-OAEP-256", aek);
    const unwrapped = await crypto.unwrapKey("RSA-OAEP-256", wrapped.result);
    return {
      kid: key.id,
      version: key.properties.version,
      sameKey: got.id === key.id,
      roundTrip: Buffer.from(unwrapped.result).equals(aek),
    };
  },

  // The key set on the cluster, the workspace linked, then updated by
  // reading it and writing it back with a change (read-modify-write).
  async "arm-key"() {
    const client = operationalInsights();
    const cluster = await client.clusters.beginUpdateAndWait("rg-js", "cluster-js", {
      keyVaultProperties: { keyVaultUri: input.vaultUri, keyName: "cmk", keyVersion: input.version },
    });
    await client.linkedServices.beginCreateOrUpdateAndWait("rg-js", "ws-js", "cluster", {
      writeAccessResourceId: cluster.id,
    });
    const ws = await client.workspaces.get("rg-js", "ws-js");
    ws.retentionInDays = 120;
    const updated = await client.workspaces.beginCreateOrUpdateAndWait("rg-js", "ws-js", ws);
    const keys = await client.sharedKeysOperations.getSharedKeys("rg-js", "ws-js");
    return {
      keyVersion: cluster.keyVaultProperties.keyVersion,
      sku: updated.sku.name,
      retention: updated.retentionInDays,
      clusterResourceId: updated.features.clusterResourceId,
      sharedKey: keys.primarySharedKey,
    };
  },

  // A KQL query through LogsQueryClient at the server's endpoint.
  async query() {
    const client = new LogsQueryClient(credential, { endpoint: endpoint + "v1" });
    const res = await client.queryWorkspace(input.workspaceId, input.query, { duration: "PT1H" });
    if (res.status !== LogsQueryResultStatus.Success) {
      throw new Error("query: " + res.status);
    }
    const table = res.tables[0];
    return { columns: table.columnDescriptors.map((c) => c.name), rows: table.rows };
  },
};

const name = process.argv[2];
if (!slices[name]) {
  console.error("usage: node cmk.mjs " + Object.keys(slices).join("|"));
  process.exit(2);
}
process.stdout.write(JSON.stringify(await slices[name]()) + "\n");
