package arm

import (
	"fmt"
	"strings"
)

// ResourceID is a parsed Resource Manager resource id of the form
// /subscriptions/{s}[/resourceGroups/{rg}[/providers/{ns}/{type}/{name}[/{type}/{name}]...]].
// Extension resources (a second /providers/ segment) are not represented.
type ResourceID struct {
	SubscriptionID string
	ResourceGroup  string
	Namespace      string   // provider namespace, e.g. "Microsoft.OperationalInsights"
	Types          []string // type chain below the namespace, e.g. ["workspaces", "linkedServices"]
	Names          []string // one name per type
}

// ParseResourceID parses a resource id. Keywords (subscriptions,
// resourceGroups, providers) are matched case-insensitively; names keep their
// case. A trailing slash is tolerated; empty segments are not.
func ParseResourceID(s string) (ResourceID, error) {
	var id ResourceID
	if !strings.HasPrefix(s, "/") {
		return id, fmt.Errorf("resource id %q must start with '/'", s)
	}
	segs := strings.Split(strings.TrimSuffix(s[1:], "/"), "/")
	for _, seg := range segs {
		if seg == "" {
			return id, fmt.Errorf("resource id %q has an empty segment", s)
		}
	}
	if len(segs) < 2 || !strings.EqualFold(segs[0], "subscriptions") {
		return id, fmt.Errorf("resource id %q must start with /subscriptions/{subscriptionId}", s)
	}
	id.SubscriptionID = segs[1]
	rest := segs[2:]
	if len(rest) == 0 {
		return id, nil
	}
	if !strings.EqualFold(rest[0], "resourceGroups") {
		return id, fmt.Errorf("resource id %q: expected 'resourceGroups' after the subscription, got %q", s, rest[0])
	}
	if len(rest) < 2 {
		return id, fmt.Errorf("resource id %q has no resource group name", s)
	}
	id.ResourceGroup = rest[1]
	rest = rest[2:]
	if len(rest) == 0 {
		return id, nil
	}
	if !strings.EqualFold(rest[0], "providers") || len(rest) < 2 {
		return id, fmt.Errorf("resource id %q: expected 'providers/{namespace}' after the resource group", s)
	}
	id.Namespace = rest[1]
	rest = rest[2:]
	if len(rest) == 0 || len(rest)%2 != 0 {
		return id, fmt.Errorf("resource id %q must end with a resource type and name", s)
	}
	for i := 0; i < len(rest); i += 2 {
		if strings.EqualFold(rest[i], "providers") {
			return id, fmt.Errorf("resource id %q: extension resources are not supported here", s)
		}
		id.Types = append(id.Types, rest[i])
		id.Names = append(id.Names, rest[i+1])
	}
	return id, nil
}

// ResourceType returns the full type, e.g.
// "Microsoft.OperationalInsights/workspaces/linkedServices";
// "Microsoft.Resources/resourceGroups" for a group and
// "Microsoft.Resources/subscriptions" for a subscription.
func (id ResourceID) ResourceType() string {
	switch {
	case id.Namespace != "":
		return id.Namespace + "/" + strings.Join(id.Types, "/")
	case id.ResourceGroup != "":
		return "Microsoft.Resources/resourceGroups"
	default:
		return "Microsoft.Resources/subscriptions"
	}
}

// IsType reports whether the id's type is t, ignoring case.
func (id ResourceID) IsType(t string) bool { return strings.EqualFold(id.ResourceType(), t) }

// Name returns the last name in the id.
func (id ResourceID) Name() string {
	switch {
	case len(id.Names) > 0:
		return id.Names[len(id.Names)-1]
	case id.ResourceGroup != "":
		return id.ResourceGroup
	default:
		return id.SubscriptionID
	}
}

// String returns the id in canonical form.
func (id ResourceID) String() string {
	var b strings.Builder
	b.WriteString("/subscriptions/")
	b.WriteString(id.SubscriptionID)
	if id.ResourceGroup == "" {
		return b.String()
	}
	b.WriteString("/resourceGroups/")
	b.WriteString(id.ResourceGroup)
	if id.Namespace == "" {
		return b.String()
	}
	b.WriteString("/providers/")
	b.WriteString(id.Namespace)
	for i := range id.Types {
		b.WriteString("/")
		b.WriteString(id.Types[i])
		b.WriteString("/")
		b.WriteString(id.Names[i])
	}
	return b.String()
}

// Key returns the lower-case form of the id, under which resources are
// stored: resource ids are case-insensitive.
func (id ResourceID) Key() string { return strings.ToLower(id.String()) }

// GroupID returns the id of a resource group.
func GroupID(subscriptionID, group string) ResourceID {
	return ResourceID{SubscriptionID: subscriptionID, ResourceGroup: group}
}

// Child returns the id of a resource of type typ and name below id (or, for a
// group id, the top-level resource ns/typ/name when ns is given).
func (id ResourceID) Child(ns, typ, name string) ResourceID {
	c := ResourceID{SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroup, Namespace: id.Namespace}
	if c.Namespace == "" {
		c.Namespace = ns
	}
	c.Types = append(append([]string(nil), id.Types...), typ)
	c.Names = append(append([]string(nil), id.Names...), name)
	return c
}

// Parent returns the id one level up: a child resource's parent resource, a
// top-level resource's group, a group's subscription.
func (id ResourceID) Parent() ResourceID {
	p := id
	switch {
	case len(id.Types) > 1:
		p.Types = id.Types[:len(id.Types)-1]
		p.Names = id.Names[:len(id.Names)-1]
	case len(id.Types) == 1:
		p.Namespace, p.Types, p.Names = "", nil, nil
	default:
		p.ResourceGroup = ""
	}
	return p
}
