"""Slices of the seed's customer-managed key procedure through the Azure SDK
for Python as Debian packages it (python3-azure): azure-identity,
azure-mgmt-resource, azure-mgmt-loganalytics, azure-mgmt-keyvault,
azure-keyvault-keys and azure-monitor-query, each configured only with
Kustodian's endpoint and credentials.

e2e/python_test.go runs it: `python3 cmk.py SLICE` with the server's
bootstrap.json in KUSTODIAN_BOOTSTRAP and the slice's inputs as JSON in
KUSTODIAN_INPUT; each slice prints its results as one JSON object. The
development CA is trusted through REQUESTS_CA_BUNDLE and vault names resolve
through usercustomize (see the Go test).
"""

import json
import os
import sys
import time

from azure.identity import ClientSecretCredential

BOOT = json.load(open(os.environ["KUSTODIAN_BOOTSTRAP"]))
INPUT = json.loads(os.environ.get("KUSTODIAN_INPUT", "{}"))
ENDPOINT = BOOT["endpoint"]  # ends in "/"
SUB = BOOT["subscriptionId"]
# Resource Manager's audience as the mgmt SDKs ask for it.
ARM_SCOPES = ["https://management.azure.com/.default"]


def tenant_credential():
    """The tenant's authority: {endpoint}{tenant}, without instance discovery."""
    return ClientSecretCredential(BOOT["tenantId"], BOOT["clientId"], BOOT["clientSecret"],
                                  authority=ENDPOINT, instance_discovery=False)


def adfs_credential():
    """The AD FS authority {endpoint}adfs, for which MSAL skips discovery."""
    return ClientSecretCredential("adfs", BOOT["clientId"], BOOT["clientSecret"], authority=ENDPOINT)


def arm_setup():
    """Feature registration, group, cluster, vault with purge protection
    (access for this principal and the cluster's identity), workspace."""
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient
    from azure.mgmt.loganalytics.models import Cluster, ClusterSku, Identity, Workspace
    from azure.mgmt.resource import ResourceManagementClient
    from azure.mgmt.resource.features import FeatureClient

    cred = tenant_credential()
    kw = dict(base_url=ENDPOINT, credential_scopes=ARM_SCOPES)
    feature = FeatureClient(cred, SUB, **kw).features.register("Microsoft.OperationalInsights", "CustomerManagedKey")
    ResourceManagementClient(cred, SUB, **kw).resource_groups.create_or_update("rg-py", {"location": "eastus"})

    la = LogAnalyticsManagementClient(cred, SUB, **kw)
    cluster = la.clusters.begin_create_or_update("rg-py", "cluster-py", Cluster(
        location="eastus", identity=Identity(type="SystemAssigned"),
        sku=ClusterSku(name="CapacityReservation", capacity=1000))).result()
    for _ in range(100):
        cluster = la.clusters.get("rg-py", "cluster-py")
        if cluster.provisioning_state == "Succeeded":
            break
        time.sleep(0.1)

    me = json.loads(_jwt_payload(cred.get_token(*ARM_SCOPES).token))["oid"]
    kv = KeyVaultManagementClient(cred, SUB, **kw)
    vault = kv.vaults.begin_create_or_update("rg-py", "kv-py", {
        "location": "eastus",
        "properties": {
            "tenant_id": BOOT["tenantId"], "sku": {"family": "A", "name": "premium"},
            "enable_soft_delete": True, "enable_purge_protection": True,
            "access_policies": [
                {"tenant_id": BOOT["tenantId"], "object_id": me, "permissions": {"keys": ["all"]}},
                {"tenant_id": BOOT["tenantId"], "object_id": cluster.identity.principal_id,
                 "permissions": {"keys": ["get", "wrapKey", "unwrapKey"]}},
            ],
        },
    }).result()
    ws = la.workspaces.begin_create_or_update("rg-py", "ws-py", Workspace(location="eastus")).result()
    return {"feature": feature.properties.state, "clusterState": cluster.provisioning_state, "clusterId": cluster.id,
            "principalId": cluster.identity.principal_id, "vaultUri": vault.properties.vault_uri,
            "workspaceId": ws.customer_id}


def keys():
    """A key in the vault, read back, and a wrap/unwrap round trip, at the
    package's default api-version (7.4-preview.1 in Debian's 4.8.0b3) and at
    7.0."""
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm

    cred = adfs_credential()
    client = KeyClient(INPUT["vaultUri"], cred)
    key = client.create_rsa_key("cmk", size=2048)
    got = client.get_key("cmk")
    crypto = CryptographyClient(key, cred)
    aek = os.urandom(32)
    wrapped = crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, aek)
    unwrapped = crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, wrapped.encrypted_key)
    old = KeyClient(INPUT["vaultUri"], cred, api_version="7.0").get_key("cmk")
    return {"kid": key.id, "version": key.properties.version, "apiVersion": client.api_version,
            "sameKey": got.id == key.id, "roundTrip": unwrapped.key == aek,
            "oldApiVersion": old.properties.version == key.properties.version,
            "recoveryLevel": got.properties.recovery_level}


def arm_key():
    """The key set on the cluster, the workspace linked, then updated by
    reading it and writing it back with a change (read-modify-write)."""
    from azure.mgmt.loganalytics import LogAnalyticsManagementClient
    from azure.mgmt.loganalytics.models import ClusterPatch, KeyVaultProperties, LinkedService

    la = LogAnalyticsManagementClient(adfs_credential(), SUB, base_url=ENDPOINT, credential_scopes=ARM_SCOPES)
    cluster = la.clusters.begin_update("rg-py", "cluster-py", ClusterPatch(key_vault_properties=KeyVaultProperties(
        key_vault_uri=INPUT["vaultUri"], key_name="cmk", key_version=INPUT["version"]))).result()
    la.linked_services.begin_create_or_update("rg-py", "ws-py", "cluster",
                                              LinkedService(write_access_resource_id=cluster.id)).result()
    ws = la.workspaces.get("rg-py", "ws-py")
    ws.retention_in_days = 90
    ws = la.workspaces.begin_create_or_update("rg-py", "ws-py", ws).result()
    keys = la.shared_keys.get_shared_keys("rg-py", "ws-py")
    return {"keyVersion": cluster.key_vault_properties.key_version, "sku": ws.sku.name,
            "retention": ws.retention_in_days, "clusterResourceId": ws.features.cluster_resource_id,
            "sharedKey": keys.primary_shared_key}


def query():
    """A KQL query through LogsQueryClient given only the endpoint: it asks
    for a token for the endpoint's own audience."""
    from datetime import timedelta

    from azure.monitor.query import LogsQueryClient, LogsQueryStatus

    client = LogsQueryClient(adfs_credential(), endpoint=ENDPOINT)
    res = client.query_workspace(INPUT["workspaceId"], INPUT["query"], timespan=timedelta(hours=1))
    if res.status != LogsQueryStatus.SUCCESS:
        raise RuntimeError("query: %s" % res.status)
    table = res.tables[0]
    return {"columns": list(table.columns), "rows": [list(r) for r in table.rows]}


def _jwt_payload(token):
    import base64
    payload = token.split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))


SLICES = {"arm-setup": arm_setup, "keys": keys, "arm-key": arm_key, "query": query}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SLICES:
        sys.exit("usage: cmk.py " + "|".join(SLICES))
    print(json.dumps(SLICES[sys.argv[1]](), default=str))
