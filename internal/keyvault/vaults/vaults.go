// Package vaults is the Microsoft.KeyVault/vaults resource provider: the
// management plane of Kustodian's embedded Key Vault. It owns vault
// resources (SKU, tenant, access policies, soft delete, purge protection),
// access policy updates, and deleted vaults (list, recover, purge), and it
// answers the data plane's lookups (keyvault.Vaults).
//
// Rules kept here, as Azure keeps them: vault names are global; soft delete
// and purge protection, once enabled, cannot be turned off; the retention
// (7–90 days) is fixed at creation; a soft-deleted vault keeps its name and
// keys until it is recovered (createMode "recover") or purged, and purge is
// refused under purge protection before the retention ends.
package vaults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/keyvault"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/resources"
)

// TypeVault is the resource type.
const TypeVault = "Microsoft.KeyVault/vaults"

const namespace = "Microsoft.KeyVault"

// APIVersions are the api-versions of Microsoft.KeyVault/vaults.
var APIVersions = []string{"2016-10-01", "2018-02-14", "2019-09-01", "2021-06-01-preview", "2021-10-01", "2022-07-01",
	"2023-02-01", "2023-07-01", "2024-11-01"}

// Deps are the provider's collaborators.
type Deps struct {
	Store     meta.Store
	Now       func() time.Time
	Log       *slog.Logger
	Authorize func(ctx context.Context, caller arm.Caller, action, scope string) error
	// VaultURI returns the data-plane URL of a vault as clients reach it.
	VaultURI func(name string) string
	// PurgeKeys destroys a purged vault's keys.
	PurgeKeys func(ctx context.Context, vault string) error
}

// Provider serves Microsoft.KeyVault/vaults.
type Provider struct{ d Deps }

// New returns a provider.
func New(d Deps) *Provider {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Provider{d: d}
}

// Doc is a vault's stored state.
type Doc struct {
	Location                     string                  `json:"location"`
	Tags                         map[string]string       `json:"tags,omitempty"`
	TenantID                     string                  `json:"tenantId"`
	SKU                          string                  `json:"sku"`
	AccessPolicies               []keyvault.AccessPolicy `json:"accessPolicies"`
	SoftDelete                   bool                    `json:"enableSoftDelete"`
	RetentionDays                int                     `json:"softDeleteRetentionInDays"`
	PurgeProtection              bool                    `json:"enablePurgeProtection"`
	EnabledForDeployment         bool                    `json:"enabledForDeployment"`
	EnabledForDiskEncryption     bool                    `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment bool                    `json:"enabledForTemplateDeployment"`
	PublicNetworkAccess          string                  `json:"publicNetworkAccess"`
	CreatedAt                    time.Time               `json:"createdAt"`
}

// Config returns what the data plane needs of the vault.
func (d *Doc) Config(name string) *keyvault.VaultConfig {
	return &keyvault.VaultConfig{Name: strings.ToLower(name), TenantID: d.TenantID, SKU: d.SKU,
		AccessPolicies: slices.Clone(d.AccessPolicies), SoftDeleteEnabled: d.SoftDelete,
		SoftDeleteRetentionDays: d.RetentionDays, PurgeProtection: d.PurgeProtection, CreatedAt: d.CreatedAt,
		Location: d.Location}
}

// Register adds the provider's routes to rt.
func (p *Provider) Register(rt *arm.Router) {
	const base = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.KeyVault/vaults"
	rt.Handle(base+"/{vaultName}", APIVersions, map[string]arm.Handler{
		http.MethodPut: p.put, http.MethodPatch: p.patch, http.MethodGet: p.get, http.MethodDelete: p.delete,
	})
	rt.Handle(base, APIVersions, map[string]arm.Handler{http.MethodGet: p.list})
	rt.Handle("/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/vaults", APIVersions, map[string]arm.Handler{http.MethodGet: p.list})
	rt.Handle(base+"/{vaultName}/accessPolicies/{operationKind}", APIVersions, map[string]arm.Handler{http.MethodPut: p.updateAccessPolicy})
	rt.Handle("/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/deletedVaults", APIVersions, map[string]arm.Handler{http.MethodGet: p.listDeleted})
	loc := "/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vaultName}"
	rt.Handle(loc, APIVersions, map[string]arm.Handler{http.MethodGet: p.getDeleted})
	rt.Handle(loc+"/purge", APIVersions, map[string]arm.Handler{http.MethodPost: p.purgeDeleted})
	rt.Handle("/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/checkNameAvailability", APIVersions,
		map[string]arm.Handler{http.MethodPost: p.checkName})
}

var vaultName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

func validVaultName(n string) bool { return vaultName.MatchString(n) && !strings.Contains(n, "--") }

func vaultID(r *arm.Request) arm.ResourceID {
	return arm.GroupID(r.Params["subscriptionId"], r.Params["resourceGroupName"]).Child(namespace, "vaults", r.Params["vaultName"])
}

func (p *Provider) authorize(r *arm.Request, action, scope string) error {
	if p.d.Authorize == nil {
		return nil
	}
	return p.d.Authorize(r.Context(), r.Caller, action, scope)
}

// load reads a live vault of the request's scope (subscription, tenant and
// group checked first); an absent vault is 404 ResourceNotFound.
func load(ctx context.Context, tx meta.Tx, r *arm.Request, id arm.ResourceID) (*meta.Resource, *Doc, error) {
	_, res, doc, err := resources.LoadDoc[Doc](ctx, tx, r.Caller, id, TypeVault)
	return res, doc, err
}

func bad(err error) error {
	if _, ok := arm.AsError(err); ok {
		return err
	}
	return arm.BadRequest("BadRequest", "%v", err)
}

// byName finds the vault named name anywhere (names are global), live or
// soft-deleted.
func byName(ctx context.Context, tx meta.Tx, name string, deleted bool) (*meta.Resource, error) {
	list, err := tx.Resources(ctx, meta.ResourceQuery{Type: TypeVault, Deleted: deleted})
	if err != nil {
		return nil, err
	}
	for _, res := range list {
		if strings.EqualFold(res.Name, name) {
			return res, nil
		}
	}
	return nil, fmt.Errorf("vault %s: %w", name, meta.ErrNotFound)
}

// Vault implements keyvault.Vaults.
func (p *Provider) Vault(ctx context.Context, name string) (*keyvault.VaultConfig, error) {
	var cfg *keyvault.VaultConfig
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		res, err := byName(ctx, tx, name, false)
		if err != nil {
			return err
		}
		d, err := resources.DecodeDoc[Doc](res)
		if err != nil {
			return err
		}
		cfg = d.Config(res.Name)
		return nil
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("vault %s: %w", name, keyvault.ErrVaultNotFound)
	}
	return cfg, err
}

// parsePolicies reads access policy entries.
func parsePolicies(v []any) ([]keyvault.AccessPolicy, error) {
	var out []keyvault.AccessPolicy
	for i, e := range v {
		o, ok := arm.AsObject(e)
		if !ok {
			return nil, arm.BadRequest("BadRequest", "accessPolicies[%d] must be an object.", i)
		}
		var ap keyvault.AccessPolicy
		var err error
		if ap.TenantID, _, err = o.String("tenantId"); err != nil {
			return nil, bad(err)
		}
		if ap.ObjectID, _, err = o.String("objectId"); err != nil {
			return nil, bad(err)
		}
		if ap.ApplicationID, _, err = o.String("applicationId"); err != nil {
			return nil, bad(err)
		}
		if ap.TenantID == "" || ap.ObjectID == "" {
			return nil, arm.BadRequest("BadRequest", "accessPolicies[%d] needs tenantId and objectId.", i)
		}
		perms, _, err := o.Object("permissions")
		if err != nil {
			return nil, bad(err)
		}
		keys, _, err := perms.Array("keys")
		if err != nil {
			return nil, bad(err)
		}
		for _, k := range keys {
			s, ok := k.(string)
			if !ok || !knownPermission(s) {
				return nil, arm.BadRequest("BadRequest", "accessPolicies[%d].permissions.keys: '%v' is not a key permission.", i, k)
			}
			ap.Keys = append(ap.Keys, s)
		}
		out = append(out, ap)
	}
	return out, nil
}

var keyPermissions = []string{"all", "encrypt", "decrypt", "wrapkey", "unwrapkey", "sign", "verify", "get", "list", "create",
	"update", "import", "delete", "backup", "restore", "recover", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy"}

func knownPermission(p string) bool { return slices.Contains(keyPermissions, strings.ToLower(p)) }

type spec struct {
	location        string
	tags            map[string]string
	hasTags         bool
	tenantID        string
	sku             string
	policies        []keyvault.AccessPolicy
	hasPolicies     bool
	softDelete      *bool
	retention       *int64
	purgeProtection *bool
	createMode      string
	flags           map[string]*bool
	publicAccess    string
}

func parseSpec(body arm.Object, full bool) (*spec, error) {
	s := &spec{flags: map[string]*bool{}}
	var err error
	if full {
		loc, ok, err := body.String("location")
		if err != nil {
			return nil, bad(err)
		}
		if !ok || loc == "" {
			return nil, arm.BadRequest("LocationRequired", "The location property is required for this definition.")
		}
		canon, ok := arm.NormalizeLocation(loc)
		if !ok {
			return nil, arm.BadRequest("LocationNotAvailableForResourceType", "The provided location '%s' is not available for resource type 'Microsoft.KeyVault/vaults'.", loc)
		}
		s.location = canon
	}
	if s.tags, _, err = body.Tags(); err != nil {
		return nil, err
	}
	s.hasTags = body.Has("tags")
	props, ok, err := body.Object("properties")
	if err != nil {
		return nil, bad(err)
	}
	if !ok {
		if full {
			return nil, arm.BadRequest("BadRequest", "The vault needs properties (tenantId, sku, accessPolicies).")
		}
		props = arm.Object{}
	}
	if s.createMode, _, err = props.String("createMode"); err != nil {
		return nil, bad(err)
	}
	s.createMode = strings.ToLower(s.createMode)
	if s.createMode != "" && s.createMode != "default" && s.createMode != "recover" {
		return nil, arm.BadRequest("BadRequest", "createMode '%s' is invalid: use 'default' or 'recover'.", s.createMode)
	}
	if s.tenantID, _, err = props.String("tenantId"); err != nil {
		return nil, bad(err)
	}
	if sku, ok, err := props.Object("sku"); err != nil {
		return nil, bad(err)
	} else if ok {
		name, _, err := sku.String("name")
		if err != nil {
			return nil, bad(err)
		}
		switch strings.ToLower(name) {
		case "standard", "premium":
			s.sku = strings.ToLower(name)
		default:
			return nil, arm.BadRequest("BadRequest", "The sku name '%s' is invalid: use 'standard' or 'premium'.", name)
		}
	}
	if ap, ok, err := props.Array("accessPolicies"); err != nil {
		return nil, bad(err)
	} else if ok {
		s.hasPolicies = true
		if s.policies, err = parsePolicies(ap); err != nil {
			return nil, err
		}
	}
	if v, ok, err := props.Bool("enableSoftDelete"); err != nil {
		return nil, bad(err)
	} else if ok {
		s.softDelete = &v
	}
	if v, ok, err := props.Int("softDeleteRetentionInDays"); err != nil {
		return nil, bad(err)
	} else if ok {
		if v < 7 || v > 90 {
			return nil, arm.BadRequest("BadRequest", "softDeleteRetentionInDays %d is invalid: it must be between 7 and 90.", v)
		}
		s.retention = &v
	}
	if v, ok, err := props.Bool("enablePurgeProtection"); err != nil {
		return nil, bad(err)
	} else if ok {
		s.purgeProtection = &v
	}
	if v, ok, err := props.Bool("enableRbacAuthorization"); err != nil {
		return nil, bad(err)
	} else if ok && v {
		return nil, arm.BadRequest("BadRequest",
			"enableRbacAuthorization is not supported by this Key Vault: authorize data-plane access with access policies.")
	}
	for _, f := range []string{"enabledForDeployment", "enabledForDiskEncryption", "enabledForTemplateDeployment"} {
		if v, ok, err := props.Bool(f); err != nil {
			return nil, bad(err)
		} else if ok {
			s.flags[f] = &v
		}
	}
	if s.publicAccess, _, err = props.String("publicNetworkAccess"); err != nil {
		return nil, bad(err)
	}
	return s, nil
}

// apply merges a spec into a vault, enforcing the one-way switches.
func apply(d *Doc, s *spec, creating bool) error {
	if s.tenantID != "" {
		d.TenantID = s.tenantID
	}
	if s.sku != "" {
		d.SKU = s.sku
	}
	if s.hasPolicies {
		d.AccessPolicies = s.policies
	}
	if s.hasTags {
		d.Tags = s.tags
	}
	if s.softDelete != nil {
		if !*s.softDelete && d.SoftDelete && !creating {
			return arm.BadRequest("BadRequest", "Soft delete cannot be disabled once it has been enabled on a vault.")
		}
		d.SoftDelete = *s.softDelete
	}
	if s.retention != nil {
		if !creating && int(*s.retention) != d.RetentionDays {
			return arm.BadRequest("BadRequest", "softDeleteRetentionInDays cannot be changed after the vault is created (it is %d).", d.RetentionDays)
		}
		d.RetentionDays = int(*s.retention)
	}
	if s.purgeProtection != nil {
		if !*s.purgeProtection && d.PurgeProtection {
			return arm.BadRequest("BadRequest", "Purge protection cannot be disabled once it has been enabled on a vault.")
		}
		d.PurgeProtection = *s.purgeProtection
	}
	if d.PurgeProtection && !d.SoftDelete {
		return arm.BadRequest("BadRequest", "Purge protection requires soft delete: set enableSoftDelete to true.")
	}
	if v := s.flags["enabledForDeployment"]; v != nil {
		d.EnabledForDeployment = *v
	}
	if v := s.flags["enabledForDiskEncryption"]; v != nil {
		d.EnabledForDiskEncryption = *v
	}
	if v := s.flags["enabledForTemplateDeployment"]; v != nil {
		d.EnabledForTemplateDeployment = *v
	}
	if s.publicAccess != "" {
		d.PublicNetworkAccess = s.publicAccess
	}
	return nil
}

func (p *Provider) put(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := vaultID(r)
	if err := p.authorize(r, "Microsoft.KeyVault/vaults/write", id.String()); err != nil {
		return err
	}
	if !validVaultName(id.Name()) {
		return arm.BadRequest("VaultNameNotValid",
			"The vault name '%s' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.", id.Name())
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	s, err := parseSpec(body, true)
	if err != nil {
		return err
	}
	now := p.d.Now()
	var (
		res     *meta.Resource
		doc     *Doc
		created bool
	)
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		if _, err := resources.EnsureScope(ctx, tx, r.Caller, id.SubscriptionID, id.ResourceGroup); err != nil {
			return err
		}
		var err error
		res, err = tx.Resource(ctx, id.String())
		if err == nil {
			if s.createMode == "recover" {
				return arm.Conflict("ConflictError", "The vault '%s' exists and is not deleted: there is nothing to recover.", id.Name())
			}
			if doc, err = resources.DecodeDoc[Doc](res); err != nil {
				return err
			}
			if doc.Location != s.location {
				return arm.BadRequest("BadRequest", "The vault '%s' is in '%s'; its location cannot be changed to '%s'.", id.Name(), doc.Location, s.location)
			}
			if err := apply(doc, s, false); err != nil {
				return err
			}
			res.Body, res.UpdatedAt = resources.EncodeDoc(doc), now
			return tx.PutResource(ctx, res)
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		created = true
		if other, err := byName(ctx, tx, id.Name(), false); err == nil {
			return arm.Conflict("VaultAlreadyExists", "The vault name '%s' is already in use (%s). Vault names are global.", id.Name(), other.ID)
		}
		deleted, err := byName(ctx, tx, id.Name(), true)
		if err == nil {
			if s.createMode != "recover" {
				return arm.Conflict("ConflictError",
					"A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault.")
			}
			if !strings.EqualFold(deleted.SubscriptionID, id.SubscriptionID) || deleted.Location != s.location {
				return arm.BadRequest("BadRequest", "The deleted vault '%s' is in subscription '%s', region '%s': recover it there.",
					id.Name(), deleted.SubscriptionID, deleted.Location)
			}
			if doc, err = resources.DecodeDoc[Doc](deleted); err != nil {
				return err
			}
			if err := tx.DeleteResource(ctx, deleted.ID); err != nil {
				return err
			}
			res = &meta.Resource{ID: id.String(), Type: TypeVault, SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroup,
				Name: id.Name(), Location: doc.Location, Body: resources.EncodeDoc(doc), CreatedAt: deleted.CreatedAt, UpdatedAt: now}
			p.d.Log.Info("key vault recovered", "vault", id.Name())
			return tx.PutResource(ctx, res)
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		if s.createMode == "recover" {
			return arm.Errorf(http.StatusNotFound, "DeletedVaultNotFound", "No deleted vault named '%s' can be recovered.", id.Name())
		}
		if s.tenantID == "" || s.sku == "" {
			return arm.BadRequest("BadRequest", "A new vault needs properties.tenantId and properties.sku.")
		}
		sub, err := tx.Subscription(ctx, id.SubscriptionID)
		if err != nil {
			return err
		}
		if !strings.EqualFold(s.tenantID, sub.TenantID) {
			return arm.BadRequest("BadRequest", "The tenantId '%s' is not the tenant of subscription '%s'.", s.tenantID, id.SubscriptionID)
		}
		doc = &Doc{Location: s.location, SoftDelete: true, RetentionDays: 90, PublicNetworkAccess: "Enabled", CreatedAt: now}
		if err := apply(doc, s, true); err != nil {
			return err
		}
		res = &meta.Resource{ID: id.String(), Type: TypeVault, SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroup,
			Name: id.Name(), Location: doc.Location, Body: resources.EncodeDoc(doc), CreatedAt: now, UpdatedAt: now}
		return tx.PutResource(ctx, res)
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		p.d.Log.Info("key vault created", "vault", id.Name(), "sku", doc.SKU, "softDelete", doc.SoftDelete, "purgeProtection", doc.PurgeProtection)
	}
	arm.WriteJSON(w, status, p.render(res, doc))
	return nil
}

func (p *Provider) patch(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := vaultID(r)
	if err := p.authorize(r, "Microsoft.KeyVault/vaults/write", id.String()); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	s, err := parseSpec(body, false)
	if err != nil {
		return err
	}
	res, doc, err := p.update(ctx, r, id, func(doc *Doc) error { return apply(doc, s, false) })
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, p.render(res, doc))
	return nil
}

func (p *Provider) update(ctx context.Context, r *arm.Request, id arm.ResourceID, fn func(*Doc) error) (*meta.Resource, *Doc, error) {
	var (
		res *meta.Resource
		doc *Doc
	)
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		var err error
		if res, doc, err = load(ctx, tx, r, id); err != nil {
			return err
		}
		if err := fn(doc); err != nil {
			return err
		}
		res.Body, res.UpdatedAt = resources.EncodeDoc(doc), p.d.Now()
		return tx.PutResource(ctx, res)
	})
	return res, doc, err
}

// updateAccessPolicy adds, replaces or removes access policy entries.
func (p *Provider) updateAccessPolicy(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := vaultID(r)
	if err := p.authorize(r, "Microsoft.KeyVault/vaults/accessPolicies/write", id.String()); err != nil {
		return err
	}
	kind := strings.ToLower(r.Params["operationKind"])
	if kind != "add" && kind != "replace" && kind != "remove" {
		return arm.BadRequest("BadRequest", "The access policy operation '%s' is invalid: use add, replace or remove.", r.Params["operationKind"])
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	props, _, err := body.Object("properties")
	if err != nil {
		return bad(err)
	}
	entries, _, err := props.Array("accessPolicies")
	if err != nil {
		return bad(err)
	}
	policies, err := parsePolicies(entries)
	if err != nil {
		return err
	}
	if len(policies) == 0 {
		return arm.BadRequest("BadRequest", "properties.accessPolicies must list at least one access policy.")
	}
	res, doc, err := p.update(ctx, r, id, func(doc *Doc) error {
		doc.AccessPolicies = mergePolicies(doc.AccessPolicies, policies, kind)
		return nil
	})
	if err != nil {
		return err
	}
	p.d.Log.Info("key vault access policies updated", "vault", res.Name, "operation", kind, "entries", len(policies))
	arm.WriteJSON(w, http.StatusOK, map[string]any{
		"id":         res.ID + "/accessPolicies/" + kind,
		"type":       "Microsoft.KeyVault/vaults/accessPolicies",
		"location":   doc.Location,
		"properties": map[string]any{"accessPolicies": renderPolicies(doc.AccessPolicies)},
	})
	return nil
}

func samePrincipal(a, b keyvault.AccessPolicy) bool {
	return strings.EqualFold(a.TenantID, b.TenantID) && strings.EqualFold(a.ObjectID, b.ObjectID) &&
		strings.EqualFold(a.ApplicationID, b.ApplicationID)
}

// mergePolicies applies an add, replace or remove of entries: add unions
// permissions, replace sets them, remove takes them away (dropping entries
// left without permissions).
func mergePolicies(cur, changes []keyvault.AccessPolicy, kind string) []keyvault.AccessPolicy {
	out := slices.Clone(cur)
	for _, c := range changes {
		i := slices.IndexFunc(out, func(a keyvault.AccessPolicy) bool { return samePrincipal(a, c) })
		switch kind {
		case "add":
			if i < 0 {
				out = append(out, c)
				continue
			}
			for _, k := range c.Keys {
				if !slices.ContainsFunc(out[i].Keys, func(x string) bool { return strings.EqualFold(x, k) }) {
					out[i].Keys = append(out[i].Keys, k)
				}
			}
		case "replace":
			if i < 0 {
				out = append(out, c)
			} else {
				out[i].Keys = c.Keys
			}
		case "remove":
			if i < 0 {
				continue
			}
			if len(c.Keys) == 0 {
				out = slices.Delete(out, i, i+1)
				continue
			}
			out[i].Keys = slices.DeleteFunc(slices.Clone(out[i].Keys), func(x string) bool {
				return slices.ContainsFunc(c.Keys, func(k string) bool { return strings.EqualFold(x, k) })
			})
			if len(out[i].Keys) == 0 {
				out = slices.Delete(out, i, i+1)
			}
		}
	}
	return out
}

func (p *Provider) get(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := vaultID(r)
	if err := p.authorize(r, "Microsoft.KeyVault/vaults/read", id.String()); err != nil {
		return err
	}
	var (
		res *meta.Resource
		doc *Doc
	)
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		var err error
		res, doc, err = load(ctx, tx, r, id)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, p.render(res, doc))
	return nil
}

func (p *Provider) list(w http.ResponseWriter, r *arm.Request) error {
	sub, group := r.Params["subscriptionId"], r.Params["resourceGroupName"]
	scope := "/subscriptions/" + sub
	if group != "" {
		scope = arm.GroupID(sub, group).String()
	}
	if err := p.authorize(r, "Microsoft.KeyVault/vaults/read", scope); err != nil {
		return err
	}
	return p.listWith(w, r, sub, group, false, p.render)
}

// delete soft-deletes a vault (or deletes it for good, with its keys, when
// soft delete is off).
func (p *Provider) delete(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := vaultID(r)
	if err := p.authorize(r, "Microsoft.KeyVault/vaults/delete", id.String()); err != nil {
		return err
	}
	var (
		gone, purge bool
	)
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		res, doc, err := load(ctx, tx, r, id)
		if e, ok := arm.AsError(err); ok && e.Code == "ResourceNotFound" {
			gone = true
			return nil
		} else if err != nil {
			return err
		}
		if !doc.SoftDelete {
			purge = true
			return tx.DeleteResource(ctx, res.ID)
		}
		now := p.d.Now()
		res.DeletedAt, res.UpdatedAt = &now, now
		return tx.PutResource(ctx, res)
	})
	if err != nil {
		return err
	}
	if gone {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if purge && p.d.PurgeKeys != nil {
		if err := p.d.PurgeKeys(ctx, id.Name()); err != nil {
			return fmt.Errorf("destroy keys of vault %s: %w", id.Name(), err)
		}
	}
	p.d.Log.Info("key vault deleted", "vault", id.Name(), "soft", !purge)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (p *Provider) deletedView(res *meta.Resource, d *Doc) map[string]any {
	deleted := *res.DeletedAt
	return map[string]any{
		"id":   "/subscriptions/" + res.SubscriptionID + "/providers/Microsoft.KeyVault/locations/" + d.Location + "/deletedVaults/" + res.Name,
		"name": res.Name,
		"type": "Microsoft.KeyVault/deletedVaults",
		"properties": map[string]any{
			"vaultId":                res.ID,
			"location":               d.Location,
			"deletionDate":           deleted.UTC().Format(time.RFC3339),
			"scheduledPurgeDate":     deleted.Add(time.Duration(d.RetentionDays) * 24 * time.Hour).UTC().Format(time.RFC3339),
			"tags":                   d.Tags,
			"purgeProtectionEnabled": d.PurgeProtection,
		},
	}
}

func (p *Provider) listDeleted(w http.ResponseWriter, r *arm.Request) error {
	sub := r.Params["subscriptionId"]
	if err := p.authorize(r, "Microsoft.KeyVault/deletedVaults/read", "/subscriptions/"+sub); err != nil {
		return err
	}
	return p.listWith(w, r, sub, "", true, p.deletedView)
}

// listWith answers a list of the live (or deleted) vaults of a subscription
// or group, each rendered by render.
func (p *Provider) listWith(w http.ResponseWriter, r *arm.Request, sub, group string, deleted bool,
	render func(*meta.Resource, *Doc) map[string]any) error {
	ctx := r.Context()
	out := []any{}
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		if _, err := resources.EnsureScope(ctx, tx, r.Caller, sub, group); err != nil {
			return err
		}
		list, err := tx.Resources(ctx, meta.ResourceQuery{Type: TypeVault, SubscriptionID: sub, ResourceGroup: group, Deleted: deleted})
		if err != nil {
			return err
		}
		for _, res := range list {
			d, err := resources.DecodeDoc[Doc](res)
			if err != nil {
				return err
			}
			out = append(out, render(res, d))
		}
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (p *Provider) findDeleted(ctx context.Context, tx meta.Tx, r *arm.Request) (*meta.Resource, *Doc, error) {
	sub, name := r.Params["subscriptionId"], r.Params["vaultName"]
	if _, err := resources.EnsureScope(ctx, tx, r.Caller, sub, ""); err != nil {
		return nil, nil, err
	}
	res, err := byName(ctx, tx, name, true)
	if errors.Is(err, meta.ErrNotFound) || (err == nil && !strings.EqualFold(res.SubscriptionID, sub)) {
		return nil, nil, arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The deleted vault '%s' was not found.", name)
	} else if err != nil {
		return nil, nil, err
	}
	d, err := resources.DecodeDoc[Doc](res)
	if err != nil {
		return nil, nil, err
	}
	loc, _ := arm.NormalizeLocation(r.Params["location"])
	if loc != d.Location {
		return nil, nil, arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The deleted vault '%s' was not found in '%s'.", name, r.Params["location"])
	}
	return res, d, nil
}

func (p *Provider) getDeleted(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	if err := p.authorize(r, "Microsoft.KeyVault/deletedVaults/read", "/subscriptions/"+r.Params["subscriptionId"]); err != nil {
		return err
	}
	var out map[string]any
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		res, d, err := p.findDeleted(ctx, tx, r)
		if err != nil {
			return err
		}
		out = p.deletedView(res, d)
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// purgeDeleted destroys a deleted vault and its keys; refused under purge
// protection until the retention has passed.
func (p *Provider) purgeDeleted(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	if err := p.authorize(r, "Microsoft.KeyVault/locations/deletedVaults/purge/action", "/subscriptions/"+r.Params["subscriptionId"]); err != nil {
		return err
	}
	var name string
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		res, d, err := p.findDeleted(ctx, tx, r)
		if err != nil {
			return err
		}
		until := res.DeletedAt.Add(time.Duration(d.RetentionDays) * 24 * time.Hour)
		if d.PurgeProtection && p.d.Now().Before(until) {
			return arm.Conflict("Conflict",
				"The vault '%s' has purge protection enabled and cannot be purged before its scheduled purge date %s.", res.Name, until.UTC().Format(time.RFC3339))
		}
		name = res.Name
		return tx.DeleteResource(ctx, res.ID)
	})
	if err != nil {
		return err
	}
	if p.d.PurgeKeys != nil {
		if err := p.d.PurgeKeys(ctx, name); err != nil {
			return fmt.Errorf("destroy keys of vault %s: %w", name, err)
		}
	}
	p.d.Log.Info("key vault purged", "vault", name)
	w.WriteHeader(http.StatusOK)
	return nil
}

// PurgeExpired purges deleted vaults whose retention has passed, with their
// keys, and returns how many it purged.
func (p *Provider) PurgeExpired(ctx context.Context) (int, error) {
	now := p.d.Now()
	var names []string
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		list, err := tx.Resources(ctx, meta.ResourceQuery{Type: TypeVault, Deleted: true})
		if err != nil {
			return err
		}
		for _, res := range list {
			d, err := resources.DecodeDoc[Doc](res)
			if err != nil {
				return err
			}
			if now.Before(res.DeletedAt.Add(time.Duration(d.RetentionDays) * 24 * time.Hour)) {
				continue
			}
			if err := tx.DeleteResource(ctx, res.ID); err != nil {
				return err
			}
			names = append(names, res.Name)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, n := range names {
		if p.d.PurgeKeys != nil {
			if err := p.d.PurgeKeys(ctx, n); err != nil {
				return 0, err
			}
		}
		p.d.Log.Info("expired deleted key vault purged", "vault", n)
	}
	return len(names), nil
}

func (p *Provider) checkName(w http.ResponseWriter, r *arm.Request) error {
	body, err := r.Body()
	if err != nil {
		return err
	}
	name, _, err := body.String("name")
	if err != nil {
		return bad(err)
	}
	out := map[string]any{"nameAvailable": true}
	if !validVaultName(name) {
		out = map[string]any{"nameAvailable": false, "reason": "AccountNameInvalid",
			"message": fmt.Sprintf("Vault name '%s' is invalid.", name)}
	} else {
		err := p.d.Store.View(r.Context(), func(tx meta.Tx) error {
			for _, del := range []bool{false, true} {
				if _, err := byName(r.Context(), tx, name, del); err == nil {
					out = map[string]any{"nameAvailable": false, "reason": "AlreadyExists",
						"message": fmt.Sprintf("The vault name '%s' is already in use.", name)}
					return nil
				} else if !errors.Is(err, meta.ErrNotFound) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

func renderPolicies(ps []keyvault.AccessPolicy) []any {
	out := make([]any, 0, len(ps))
	for _, ap := range ps {
		keys := ap.Keys
		if keys == nil {
			keys = []string{}
		}
		e := map[string]any{"tenantId": ap.TenantID, "objectId": ap.ObjectID,
			"permissions": map[string]any{"keys": keys, "secrets": []string{}, "certificates": []string{}}}
		if ap.ApplicationID != "" {
			e["applicationId"] = ap.ApplicationID
		}
		out = append(out, e)
	}
	return out
}

func (p *Provider) render(res *meta.Resource, d *Doc) map[string]any {
	uri := ""
	if p.d.VaultURI != nil {
		uri = p.d.VaultURI(res.Name)
	}
	props := map[string]any{
		"tenantId":                     d.TenantID,
		"sku":                          map[string]any{"family": "A", "name": d.SKU},
		"accessPolicies":               renderPolicies(d.AccessPolicies),
		"vaultUri":                     uri,
		"enableSoftDelete":             d.SoftDelete,
		"softDeleteRetentionInDays":    d.RetentionDays,
		"enableRbacAuthorization":      false,
		"enabledForDeployment":         d.EnabledForDeployment,
		"enabledForDiskEncryption":     d.EnabledForDiskEncryption,
		"enabledForTemplateDeployment": d.EnabledForTemplateDeployment,
		"publicNetworkAccess":          d.PublicNetworkAccess,
		"provisioningState":            "Succeeded",
	}
	if d.PurgeProtection {
		// Azure omits the property rather than reporting false.
		props["enablePurgeProtection"] = true
	}
	out := map[string]any{
		"id": res.ID, "name": res.Name, "type": TypeVault, "location": d.Location, "properties": props,
	}
	if len(d.Tags) > 0 {
		out["tags"] = d.Tags
	}
	return out
}
