package meta

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("meta: not found")

// ErrConflict is returned when a row that must be new already exists.
var ErrConflict = errors.New("meta: already exists")

// Store is a metadata store.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction, committed if fn returns nil.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store.
	Close() error
}

// Tenant is a directory tenant; SigningKey is sealed.
type Tenant struct {
	ID         string
	SigningKey []byte
	CreatedAt  time.Time
}

// Principal is a service principal or managed identity.
type Principal struct {
	ObjectID    string
	TenantID    string
	ClientID    string
	DisplayName string
	Kind        string // "ServicePrincipal" or "ManagedIdentity"
	SecretHash  []byte
	ResourceID  string
	CreatedAt   time.Time
}

// Subscription is a subscription and its operator settings.
type Subscription struct {
	ID          string
	TenantID    string
	DisplayName string
	// MaxClusterCapacity is the largest cluster capacity reservation (GB/day)
	// allowed in the subscription; the operator raises it above 2000.
	MaxClusterCapacity int64
	CreatedAt          time.Time
}

// Feature is a preview feature's registration state in a subscription.
type Feature struct {
	SubscriptionID string
	Namespace      string
	Name           string
	State          string
	UpdatedAt      time.Time
}

// Resource is a Resource Manager resource. Body is the provider's own JSON
// document for the resource.
type Resource struct {
	ID             string // as first written
	Type           string // e.g. "Microsoft.OperationalInsights/clusters"
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	Body           []byte
	DeletedAt      *time.Time // soft-deleted when set
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ResourceQuery selects resources. Empty fields match everything.
type ResourceQuery struct {
	Type           string
	SubscriptionID string
	ResourceGroup  string
	ParentID       string // direct children of this resource id
	Deleted        bool   // list soft-deleted resources instead of live ones
}

// RoleAssignment grants a role to a principal at a scope.
type RoleAssignment struct {
	ID               string // full id: {scope}/providers/Microsoft.Authorization/roleAssignments/{name}
	Name             string
	Scope            string
	RoleDefinitionID string
	PrincipalID      string
	PrincipalType    string
	CreatedAt        time.Time
}

// KeyedDoc is a document and its key.
type KeyedDoc struct {
	Key  string
	Body []byte
}

// Tx is a transaction on the store.
type Tx interface {
	Setting(ctx context.Context, key string) ([]byte, error)
	PutSetting(ctx context.Context, key string, value []byte) error

	Tenant(ctx context.Context, id string) (*Tenant, error)
	PutTenant(ctx context.Context, t *Tenant) error

	Principal(ctx context.Context, objectID string) (*Principal, error)
	PrincipalByClientID(ctx context.Context, tenantID, clientID string) (*Principal, error)
	PutPrincipal(ctx context.Context, p *Principal) error
	DeletePrincipal(ctx context.Context, objectID string) error

	Subscription(ctx context.Context, id string) (*Subscription, error)
	PutSubscription(ctx context.Context, s *Subscription) error
	Subscriptions(ctx context.Context) ([]*Subscription, error)

	Feature(ctx context.Context, subscriptionID, namespace, name string) (*Feature, error)
	PutFeature(ctx context.Context, f *Feature) error
	Features(ctx context.Context, subscriptionID string) ([]*Feature, error)

	// Resource returns a live (not soft-deleted) resource by id.
	Resource(ctx context.Context, id string) (*Resource, error)
	// DeletedResource returns a soft-deleted resource by id.
	DeletedResource(ctx context.Context, id string) (*Resource, error)
	// PutResource inserts or replaces a resource (live or soft-deleted).
	PutResource(ctx context.Context, r *Resource) error
	// DeleteResource removes a resource row for good.
	DeleteResource(ctx context.Context, id string) error
	Resources(ctx context.Context, q ResourceQuery) ([]*Resource, error)

	RoleAssignment(ctx context.Context, id string) (*RoleAssignment, error)
	PutRoleAssignment(ctx context.Context, a *RoleAssignment) error
	DeleteRoleAssignment(ctx context.Context, id string) error
	// RoleAssignments lists assignments of a principal (principalID set)
	// or at and below a scope (scope set).
	RoleAssignments(ctx context.Context, principalID, scope string) ([]*RoleAssignment, error)

	Operation(ctx context.Context, id string) ([]byte, error)
	PutOperation(ctx context.Context, id string, body []byte, createdAt time.Time) error

	// Doc returns a document of a kind (a namespace owned by one package,
	// e.g. "keyvault.key") by key.
	Doc(ctx context.Context, kind, key string) ([]byte, error)
	// PutDoc inserts or replaces a document.
	PutDoc(ctx context.Context, kind, key string, body []byte) error
	// DeleteDoc removes a document; removing a missing one is not an error.
	DeleteDoc(ctx context.Context, kind, key string) error
	// Docs lists the documents of a kind whose keys start with prefix, in
	// key order.
	Docs(ctx context.Context, kind, prefix string) ([]KeyedDoc, error)

	// Secret returns a sealed secret of an owner (a lower-case resource id or
	// another stable key).
	Secret(ctx context.Context, owner, name string) ([]byte, error)
	PutSecret(ctx context.Context, owner, name string, sealed []byte) error
	DeleteSecrets(ctx context.Context, owner string) error
}
