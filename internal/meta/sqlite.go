package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// migrations are applied in order; index+1 is the schema version.
var migrations = []string{
	`CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB NOT NULL);
	CREATE TABLE tenants (id TEXT PRIMARY KEY, signing_key BLOB NOT NULL, created_at INTEGER NOT NULL);
	CREATE TABLE principals (
		object_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, client_id TEXT NOT NULL,
		display_name TEXT NOT NULL, kind TEXT NOT NULL, secret_hash BLOB, resource_id TEXT NOT NULL,
		created_at INTEGER NOT NULL);
	CREATE UNIQUE INDEX principals_client ON principals (tenant_id, client_id);
	CREATE TABLE subscriptions (
		id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, display_name TEXT NOT NULL,
		max_cluster_capacity INTEGER NOT NULL, created_at INTEGER NOT NULL);
	CREATE TABLE features (
		subscription_id TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
		state TEXT NOT NULL, updated_at INTEGER NOT NULL,
		PRIMARY KEY (subscription_id, namespace, name));
	CREATE TABLE resources (
		key TEXT PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, subscription_id TEXT NOT NULL,
		resource_group TEXT NOT NULL, parent_key TEXT NOT NULL, name TEXT NOT NULL, location TEXT NOT NULL,
		body BLOB NOT NULL, deleted_at INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
	CREATE INDEX resources_scope ON resources (type, subscription_id, resource_group);
	CREATE INDEX resources_parent ON resources (parent_key);
	CREATE TABLE role_assignments (
		key TEXT PRIMARY KEY, id TEXT NOT NULL, name TEXT NOT NULL, scope TEXT NOT NULL,
		scope_key TEXT NOT NULL, role_definition_id TEXT NOT NULL, principal_id TEXT NOT NULL,
		principal_type TEXT NOT NULL, created_at INTEGER NOT NULL);
	CREATE INDEX role_assignments_principal ON role_assignments (principal_id);
	CREATE TABLE operations (id TEXT PRIMARY KEY, body BLOB NOT NULL, created_at INTEGER NOT NULL);
	CREATE TABLE secrets (owner TEXT NOT NULL, name TEXT NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (owner, name));`,
	`CREATE TABLE docs (kind TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, key));`,
}

// SQLite is the embedded Store.
type SQLite struct {
	db *sql.DB
}

// OpenSQLite opens (creating if needed) the SQLite database at path and
// migrates it to the current schema. Several processes may open the same
// file (the server and an admin command): writes wait for each other.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open metadata database %s: %w", path, err)
	}
	// Several connections: in WAL mode readers (View, a deferred
	// transaction) never wait for the writer, so a View may run while an
	// Update is open, even on the same goroutine. Writers (Update, BEGIN
	// IMMEDIATE) queue on SQLite's lock through the busy timeout. An Update
	// must never wait for another Update it started itself.
	db.SetMaxOpenConns(8)
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate metadata database %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary supports (%d)", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// View implements Store.
func (s *SQLite) View(ctx context.Context, fn func(Tx) error) error {
	return s.run(ctx, true, fn)
}

// Update implements Store.
func (s *SQLite) Update(ctx context.Context, fn func(Tx) error) error {
	return s.run(ctx, false, fn)
}

func (s *SQLite) run(ctx context.Context, readOnly bool, fn func(Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(&sqliteTx{tx: tx}); err != nil {
		tx.Rollback()
		return err
	}
	if readOnly {
		return tx.Rollback()
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type sqliteTx struct {
	tx *sql.Tx
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

func (t *sqliteTx) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := t.tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, notFound(err, "setting "+key)
}

func (t *sqliteTx) PutSetting(ctx context.Context, key string, value []byte) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

func (t *sqliteTx) Tenant(ctx context.Context, id string) (*Tenant, error) {
	var tn Tenant
	var created int64
	err := t.tx.QueryRowContext(ctx, `SELECT id, signing_key, created_at FROM tenants WHERE id = ?`,
		strings.ToLower(id)).Scan(&tn.ID, &tn.SigningKey, &created)
	if err != nil {
		return nil, notFound(err, "tenant "+id)
	}
	tn.CreatedAt = fromNanos(created)
	return &tn, nil
}

func (t *sqliteTx) PutTenant(ctx context.Context, tn *Tenant) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO tenants (id, signing_key, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET signing_key = excluded.signing_key`,
		strings.ToLower(tn.ID), tn.SigningKey, nanos(tn.CreatedAt))
	return err
}

const principalCols = `object_id, tenant_id, client_id, display_name, kind, secret_hash, resource_id, created_at`

func scanPrincipal(row interface{ Scan(...any) error }) (*Principal, error) {
	var p Principal
	var created int64
	if err := row.Scan(&p.ObjectID, &p.TenantID, &p.ClientID, &p.DisplayName, &p.Kind, &p.SecretHash, &p.ResourceID, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromNanos(created)
	return &p, nil
}

func (t *sqliteTx) Principal(ctx context.Context, objectID string) (*Principal, error) {
	p, err := scanPrincipal(t.tx.QueryRowContext(ctx, `SELECT `+principalCols+` FROM principals WHERE object_id = ?`,
		strings.ToLower(objectID)))
	return p, notFound(err, "principal "+objectID)
}

func (t *sqliteTx) PrincipalByClientID(ctx context.Context, tenantID, clientID string) (*Principal, error) {
	p, err := scanPrincipal(t.tx.QueryRowContext(ctx, `SELECT `+principalCols+` FROM principals WHERE tenant_id = ? AND client_id = ?`,
		strings.ToLower(tenantID), strings.ToLower(clientID)))
	return p, notFound(err, "principal with client id "+clientID)
}

func (t *sqliteTx) PutPrincipal(ctx context.Context, p *Principal) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO principals (`+principalCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (object_id) DO UPDATE SET display_name = excluded.display_name, secret_hash = excluded.secret_hash,
		resource_id = excluded.resource_id`,
		strings.ToLower(p.ObjectID), strings.ToLower(p.TenantID), strings.ToLower(p.ClientID), p.DisplayName, p.Kind,
		p.SecretHash, p.ResourceID, nanos(p.CreatedAt))
	return err
}

func (t *sqliteTx) DeletePrincipal(ctx context.Context, objectID string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM principals WHERE object_id = ?`, strings.ToLower(objectID))
	return err
}

func (t *sqliteTx) Subscription(ctx context.Context, id string) (*Subscription, error) {
	var s Subscription
	var created int64
	err := t.tx.QueryRowContext(ctx, `SELECT id, tenant_id, display_name, max_cluster_capacity, created_at
		FROM subscriptions WHERE id = ?`, strings.ToLower(id)).Scan(&s.ID, &s.TenantID, &s.DisplayName, &s.MaxClusterCapacity, &created)
	if err != nil {
		return nil, notFound(err, "subscription "+id)
	}
	s.CreatedAt = fromNanos(created)
	return &s, nil
}

func (t *sqliteTx) PutSubscription(ctx context.Context, s *Subscription) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO subscriptions (id, tenant_id, display_name, max_cluster_capacity, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name,
		max_cluster_capacity = excluded.max_cluster_capacity`,
		strings.ToLower(s.ID), strings.ToLower(s.TenantID), s.DisplayName, s.MaxClusterCapacity, nanos(s.CreatedAt))
	return err
}

func (t *sqliteTx) Subscriptions(ctx context.Context) ([]*Subscription, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT id, tenant_id, display_name, max_cluster_capacity, created_at FROM subscriptions ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Subscription
	for rows.Next() {
		var s Subscription
		var created int64
		if err := rows.Scan(&s.ID, &s.TenantID, &s.DisplayName, &s.MaxClusterCapacity, &created); err != nil {
			return nil, err
		}
		s.CreatedAt = fromNanos(created)
		out = append(out, &s)
	}
	return out, rows.Err()
}

func (t *sqliteTx) Feature(ctx context.Context, subscriptionID, namespace, name string) (*Feature, error) {
	var f Feature
	var updated int64
	err := t.tx.QueryRowContext(ctx, `SELECT subscription_id, namespace, name, state, updated_at FROM features
		WHERE subscription_id = ? AND namespace = ? AND name = ?`,
		strings.ToLower(subscriptionID), strings.ToLower(namespace), strings.ToLower(name)).
		Scan(&f.SubscriptionID, &f.Namespace, &f.Name, &f.State, &updated)
	if err != nil {
		return nil, notFound(err, "feature "+namespace+"/"+name)
	}
	f.UpdatedAt = fromNanos(updated)
	return &f, nil
}

func (t *sqliteTx) PutFeature(ctx context.Context, f *Feature) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO features (subscription_id, namespace, name, state, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscription_id, namespace, name) DO UPDATE SET
		state = excluded.state, updated_at = excluded.updated_at`,
		strings.ToLower(f.SubscriptionID), strings.ToLower(f.Namespace), strings.ToLower(f.Name), f.State, nanos(f.UpdatedAt))
	return err
}

func (t *sqliteTx) Features(ctx context.Context, subscriptionID string) ([]*Feature, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT subscription_id, namespace, name, state, updated_at FROM features
		WHERE subscription_id = ? OR ? = '' ORDER BY subscription_id, namespace, name`,
		strings.ToLower(subscriptionID), subscriptionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Feature
	for rows.Next() {
		var f Feature
		var updated int64
		if err := rows.Scan(&f.SubscriptionID, &f.Namespace, &f.Name, &f.State, &updated); err != nil {
			return nil, err
		}
		f.UpdatedAt = fromNanos(updated)
		out = append(out, &f)
	}
	return out, rows.Err()
}

const resourceCols = `id, type, subscription_id, resource_group, name, location, body, deleted_at, created_at, updated_at`

func scanResource(row interface{ Scan(...any) error }) (*Resource, error) {
	var r Resource
	var deleted sql.NullInt64
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Type, &r.SubscriptionID, &r.ResourceGroup, &r.Name, &r.Location, &r.Body,
		&deleted, &created, &updated); err != nil {
		return nil, err
	}
	if deleted.Valid {
		d := fromNanos(deleted.Int64)
		r.DeletedAt = &d
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &r, nil
}

func (t *sqliteTx) Resource(ctx context.Context, id string) (*Resource, error) {
	r, err := scanResource(t.tx.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE key = ? AND deleted_at IS NULL`,
		strings.ToLower(id)))
	return r, notFound(err, "resource "+id)
}

func (t *sqliteTx) DeletedResource(ctx context.Context, id string) (*Resource, error) {
	r, err := scanResource(t.tx.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE key = ? AND deleted_at IS NOT NULL`,
		strings.ToLower(id)))
	return r, notFound(err, "deleted resource "+id)
}

// parentKey is the lower-case id of a resource's parent: everything before
// its last "/{type}/{name}" pair, or the group for top-level resources.
func parentKey(id string) string {
	k := strings.ToLower(strings.TrimSuffix(id, "/"))
	for range 2 {
		if i := strings.LastIndexByte(k, '/'); i >= 0 {
			k = k[:i]
		}
	}
	if i := strings.LastIndexByte(k, '/'); i >= 0 && strings.HasSuffix(k[:i], "/providers") {
		k = strings.TrimSuffix(k[:i], "/providers")
	}
	return k
}

func (t *sqliteTx) PutResource(ctx context.Context, r *Resource) error {
	var deleted any
	if r.DeletedAt != nil {
		deleted = nanos(*r.DeletedAt)
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO resources (key, `+resourceCols+`, parent_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET
		id = excluded.id, type = excluded.type, location = excluded.location, body = excluded.body,
		deleted_at = excluded.deleted_at, updated_at = excluded.updated_at`,
		strings.ToLower(r.ID), r.ID, strings.ToLower(r.Type), strings.ToLower(r.SubscriptionID),
		strings.ToLower(r.ResourceGroup), r.Name, r.Location, r.Body, deleted, nanos(r.CreatedAt), nanos(r.UpdatedAt),
		parentKey(r.ID))
	return err
}

func (t *sqliteTx) DeleteResource(ctx context.Context, id string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM resources WHERE key = ?`, strings.ToLower(id))
	return err
}

func (t *sqliteTx) Resources(ctx context.Context, q ResourceQuery) ([]*Resource, error) {
	var where []string
	var args []any
	add := func(cond string, v string) {
		if v != "" {
			where = append(where, cond)
			args = append(args, strings.ToLower(v))
		}
	}
	add("type = ?", q.Type)
	add("subscription_id = ?", q.SubscriptionID)
	add("resource_group = ?", q.ResourceGroup)
	add("parent_key = ?", strings.TrimSuffix(q.ParentID, "/"))
	if q.Deleted {
		where = append(where, "deleted_at IS NOT NULL")
	} else {
		where = append(where, "deleted_at IS NULL")
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE `+strings.Join(where, " AND ")+` ORDER BY key`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Resource
	for rows.Next() {
		r, err := scanResource(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const assignmentCols = `id, name, scope, role_definition_id, principal_id, principal_type, created_at`

func scanAssignment(row interface{ Scan(...any) error }) (*RoleAssignment, error) {
	var a RoleAssignment
	var created int64
	if err := row.Scan(&a.ID, &a.Name, &a.Scope, &a.RoleDefinitionID, &a.PrincipalID, &a.PrincipalType, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = fromNanos(created)
	return &a, nil
}

func (t *sqliteTx) RoleAssignment(ctx context.Context, id string) (*RoleAssignment, error) {
	a, err := scanAssignment(t.tx.QueryRowContext(ctx, `SELECT `+assignmentCols+` FROM role_assignments WHERE key = ?`,
		strings.ToLower(id)))
	return a, notFound(err, "role assignment "+id)
}

func (t *sqliteTx) PutRoleAssignment(ctx context.Context, a *RoleAssignment) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO role_assignments (key, `+assignmentCols+`, scope_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET role_definition_id = excluded.role_definition_id,
		principal_id = excluded.principal_id, principal_type = excluded.principal_type`,
		strings.ToLower(a.ID), a.ID, a.Name, a.Scope, a.RoleDefinitionID, strings.ToLower(a.PrincipalID), a.PrincipalType,
		nanos(a.CreatedAt), strings.ToLower(strings.TrimSuffix(a.Scope, "/")))
	return err
}

func (t *sqliteTx) DeleteRoleAssignment(ctx context.Context, id string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM role_assignments WHERE key = ?`, strings.ToLower(id))
	return err
}

func (t *sqliteTx) RoleAssignments(ctx context.Context, principalID, scope string) ([]*RoleAssignment, error) {
	query := `SELECT ` + assignmentCols + ` FROM role_assignments WHERE 1 = 1`
	var args []any
	if principalID != "" {
		query += ` AND principal_id = ?`
		args = append(args, strings.ToLower(principalID))
	}
	if scope != "" && scope != "/" {
		sk := strings.ToLower(strings.TrimSuffix(scope, "/"))
		query += ` AND (scope_key = ? OR substr(scope_key, 1, ?) = ?)`
		args = append(args, sk, len(sk)+1, sk+"/")
	}
	rows, err := t.tx.QueryContext(ctx, query+` ORDER BY key`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*RoleAssignment
	for rows.Next() {
		a, err := scanAssignment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t *sqliteTx) Operation(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := t.tx.QueryRowContext(ctx, `SELECT body FROM operations WHERE id = ?`, strings.ToLower(id)).Scan(&b)
	return b, notFound(err, "operation "+id)
}

func (t *sqliteTx) PutOperation(ctx context.Context, id string, body []byte, createdAt time.Time) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO operations (id, body, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET body = excluded.body`, strings.ToLower(id), body, nanos(createdAt))
	return err
}

func (t *sqliteTx) Secret(ctx context.Context, owner, name string) ([]byte, error) {
	var b []byte
	err := t.tx.QueryRowContext(ctx, `SELECT sealed FROM secrets WHERE owner = ? AND name = ?`, owner, name).Scan(&b)
	return b, notFound(err, "secret "+name)
}

func (t *sqliteTx) PutSecret(ctx context.Context, owner, name string, sealed []byte) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO secrets (owner, name, sealed) VALUES (?, ?, ?)
		ON CONFLICT (owner, name) DO UPDATE SET sealed = excluded.sealed`, owner, name, sealed)
	return err
}

func (t *sqliteTx) DeleteSecrets(ctx context.Context, owner string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM secrets WHERE owner = ?`, owner)
	return err
}

func (t *sqliteTx) Doc(ctx context.Context, kind, key string) ([]byte, error) {
	var b []byte
	err := t.tx.QueryRowContext(ctx, `SELECT body FROM docs WHERE kind = ? AND key = ?`, kind, key).Scan(&b)
	return b, notFound(err, kind+" "+key)
}

func (t *sqliteTx) PutDoc(ctx context.Context, kind, key string, body []byte) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO docs (kind, key, body) VALUES (?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body`, kind, key, body)
	return err
}

func (t *sqliteTx) DeleteDoc(ctx context.Context, kind, key string) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM docs WHERE kind = ? AND key = ?`, kind, key)
	return err
}

func (t *sqliteTx) Docs(ctx context.Context, kind, prefix string) ([]KeyedDoc, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT key, body FROM docs WHERE kind = ? AND substr(key, 1, ?) = ? ORDER BY key`,
		kind, len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []KeyedDoc
	for rows.Next() {
		var d KeyedDoc
		if err := rows.Scan(&d.Key, &d.Body); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
