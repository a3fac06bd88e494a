package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

// EnsureScope checks a request's scope for a resource provider: the
// subscription exists and belongs to the caller's tenant (EnsureSubscription)
// and, when group is set, the resource group exists. It returns the
// subscription.
func EnsureScope(ctx context.Context, tx meta.Tx, caller arm.Caller, subscriptionID, group string) (*meta.Subscription, error) {
	sub, err := EnsureSubscription(ctx, tx, caller, subscriptionID)
	if err != nil || group == "" {
		return sub, err
	}
	return sub, EnsureGroupExists(ctx, tx, subscriptionID, group)
}

// LoadDoc reads the resource id, of Resource Manager type typ, after
// checking its scope (EnsureScope), and decodes its document into a T. An
// absent resource is 404 ResourceNotFound.
func LoadDoc[T any](ctx context.Context, tx meta.Tx, caller arm.Caller, id arm.ResourceID, typ string) (*meta.Subscription, *meta.Resource, *T, error) {
	sub, err := EnsureScope(ctx, tx, caller, id.SubscriptionID, id.ResourceGroup)
	if err != nil {
		return nil, nil, nil, err
	}
	res, err := tx.Resource(ctx, id.String())
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil, nil, arm.NotFound(typ, id.Name())
	} else if err != nil {
		return nil, nil, nil, err
	}
	doc, err := DecodeDoc[T](res)
	return sub, res, doc, err
}

// DecodeDoc decodes a stored resource's document.
func DecodeDoc[T any](r *meta.Resource) (*T, error) {
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", r.ID, err)
	}
	return &v, nil
}

// EncodeDoc encodes a resource document for storage. Documents are plain
// structs, so encoding cannot fail; a failure is a programming error.
func EncodeDoc(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("resources: encode document: %v", err))
	}
	return b
}
