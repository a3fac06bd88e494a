package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

// ResourceGroupType is the resource type of resource groups.
const ResourceGroupType = "Microsoft.Resources/resourceGroups"

// GroupAPIVersions are the api-versions of Microsoft.Resources/resourceGroups.
var GroupAPIVersions = []string{
	"2019-05-01", "2019-10-01", "2020-06-01", "2020-10-01", "2021-01-01",
	"2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01",
}

// Azure actions on resource groups.
const (
	actionGroupRead   = "Microsoft.Resources/subscriptions/resourceGroups/read"
	actionGroupWrite  = "Microsoft.Resources/subscriptions/resourceGroups/write"
	actionGroupDelete = "Microsoft.Resources/subscriptions/resourceGroups/delete"
	actionGroupMove   = "Microsoft.Resources/subscriptions/resourceGroups/moveResources/action"
)

// Limits on resource group names, as Azure enforces them (tags: arm.ValidateTags).
const (
	maxGroupNameLen = 90
)

func (p *Provider) registerGroups(rt *arm.Router) {
	const group = "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}"
	rt.Handle("/subscriptions/{subscriptionId}/resourcegroups", GroupAPIVersions, map[string]arm.Handler{
		http.MethodGet: p.listGroups,
	})
	rt.Handle(group, GroupAPIVersions, map[string]arm.Handler{
		http.MethodPut:    p.putGroup,
		http.MethodPatch:  p.patchGroup,
		http.MethodGet:    p.getGroup,
		http.MethodHead:   p.headGroup,
		http.MethodDelete: p.deleteGroup,
	})
	rt.Handle(group+"/moveResources", GroupAPIVersions, map[string]arm.Handler{
		http.MethodPost: p.moveResources,
	})
	rt.Handle(group+"/validateMoveResources", GroupAPIVersions, map[string]arm.Handler{
		http.MethodPost: p.moveResources,
	})
}

// groupDoc is the stored body of a resource group.
type groupDoc struct {
	Tags      map[string]string `json:"tags,omitempty"`
	ManagedBy string            `json:"managedBy,omitempty"`
}

// groupJSON is the wire form of a resource group.
type groupJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	ManagedBy  string            `json:"managedBy,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
	} `json:"properties"`
}

func groupBody(res *meta.Resource) (groupJSON, error) {
	var doc groupDoc
	if err := json.Unmarshal(res.Body, &doc); err != nil {
		return groupJSON{}, fmt.Errorf("decode resource group %s: %w", res.ID, err)
	}
	g := groupJSON{
		ID:        res.ID,
		Name:      res.Name,
		Type:      ResourceGroupType,
		Location:  res.Location,
		ManagedBy: doc.ManagedBy,
		Tags:      doc.Tags,
	}
	g.Properties.ProvisioningState = "Succeeded"
	return g, nil
}

// groupNotFound is the 404 for a missing resource group.
func groupNotFound(group string) *arm.Error {
	return arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", group)
}

// EnsureGroupExists returns nil if the resource group exists in the
// subscription, a 404 ResourceGroupNotFound *arm.Error if it does not, or
// another error if the store fails. It does not check the subscription (see
// EnsureSubscription).
func EnsureGroupExists(ctx context.Context, tx meta.Tx, subscriptionID, group string) error {
	_, err := readGroup(ctx, tx, subscriptionID, group)
	return err
}

// readGroup returns a resource group's row, or the errors of
// EnsureGroupExists.
func readGroup(ctx context.Context, tx meta.Tx, subscriptionID, group string) (*meta.Resource, error) {
	id := arm.GroupID(subscriptionID, group).String()
	res, err := tx.Resource(ctx, id)
	if errors.Is(err, meta.ErrNotFound) || (err == nil && !strings.EqualFold(res.Type, ResourceGroupType)) {
		return nil, groupNotFound(group)
	}
	if err != nil {
		return nil, fmt.Errorf("read resource group %s: %w", id, err)
	}
	return res, nil
}

// validateGroupName applies Azure's rules for resource group names: 1 to
// 90 characters, letters, digits, '-', '_', '.', '(' and ')', not ending in
// '.'.
func validateGroupName(name string) error {
	var bad []rune
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.()", r) {
			continue
		}
		if !slices.Contains(bad, r) {
			bad = append(bad, r)
		}
	}
	const rule = "The name can be 1 to 90 characters long, can contain only letters, digits, '-', '_', '.', '(' and ')', and cannot end with '.'."
	switch n := utf8.RuneCountInString(name); {
	case len(bad) > 0:
		return arm.BadRequest("InvalidResourceGroupName",
			"The provided resource group name '%s' has these invalid characters: '%s'. %s", name, string(bad), rule)
	case n < 1 || n > maxGroupNameLen:
		return arm.BadRequest("InvalidResourceGroupName",
			"The provided resource group name '%s' is %d characters long. %s", name, n, rule)
	case strings.HasSuffix(name, "."):
		return arm.BadRequest("InvalidResourceGroupName",
			"The provided resource group name '%s' ends with '.'. %s", name, rule)
	}
	return nil
}

// readTags reads the optional "tags" member of a request body.
func readTags(body arm.Object) (map[string]string, bool, error) { return body.Tags() }

// groupRequest resolves the subscription and the group name of a request
// and checks that the caller may perform action on the group.
func (p *Provider) groupRequest(r *arm.Request, action string) (*meta.Subscription, string, error) {
	sub, err := p.subscription(r, r.Params["subscriptionId"])
	if err != nil {
		return nil, "", err
	}
	name := r.Params["resourceGroupName"]
	if err := p.check(r, action, arm.GroupID(sub.ID, name).String()); err != nil {
		return nil, "", err
	}
	return sub, name, nil
}

func (p *Provider) putGroup(w http.ResponseWriter, r *arm.Request) error {
	sub, name, err := p.groupRequest(r, actionGroupWrite)
	if err != nil {
		return err
	}
	if err := validateGroupName(name); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	loc, ok, err := body.String("location")
	if err != nil {
		return invalidContent(err)
	}
	if !ok || strings.TrimSpace(loc) == "" {
		return arm.BadRequest("LocationRequired", "The location property is required for this definition.")
	}
	location, ok := arm.NormalizeLocation(loc)
	if !ok {
		return arm.BadRequest("LocationNotAvailableForResourceGroup",
			"The provided location '%s' is not available for resource group.", loc)
	}
	tags, _, err := readTags(body)
	if err != nil {
		return err
	}
	managedBy, _, err := body.String("managedBy")
	if err != nil {
		return invalidContent(err)
	}

	now := p.now()
	status := http.StatusOK
	var res *meta.Resource
	err = p.store.Update(r.Context(), func(tx meta.Tx) error {
		var err error
		res, err = readGroup(r.Context(), tx, sub.ID, name)
		var notFound *arm.Error
		switch {
		case errors.As(err, &notFound) && notFound.Status == http.StatusNotFound:
			status = http.StatusCreated
			res = &meta.Resource{
				ID:             arm.GroupID(sub.ID, name).String(),
				Type:           ResourceGroupType,
				SubscriptionID: sub.ID,
				ResourceGroup:  name,
				Name:           name,
				Location:       location,
				CreatedAt:      now,
			}
		case err != nil:
			return err
		case res.Location != location:
			return arm.BadRequest("InvalidResourceGroupLocation",
				"Invalid resource group location '%s'. The Resource group already exists in location '%s'.",
				location, res.Location)
		}
		res.UpdatedAt = now
		res.Body, err = json.Marshal(groupDoc{Tags: tags, ManagedBy: managedBy})
		if err != nil {
			return err
		}
		return tx.PutResource(r.Context(), res)
	})
	if err != nil {
		return err
	}
	g, err := groupBody(res)
	if err != nil {
		return err
	}
	arm.WriteJSON(w, status, g)
	return nil
}

// patchGroup updates the tags (and managedBy) of an existing group.
func (p *Provider) patchGroup(w http.ResponseWriter, r *arm.Request) error {
	sub, name, err := p.groupRequest(r, actionGroupWrite)
	if err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	tags, hasTags, err := readTags(body)
	if err != nil {
		return err
	}
	managedBy, hasManagedBy, err := body.String("managedBy")
	if err != nil {
		return invalidContent(err)
	}
	var res *meta.Resource
	err = p.store.Update(r.Context(), func(tx meta.Tx) error {
		var err error
		if res, err = readGroup(r.Context(), tx, sub.ID, name); err != nil {
			return err
		}
		var doc groupDoc
		if err := json.Unmarshal(res.Body, &doc); err != nil {
			return fmt.Errorf("decode resource group %s: %w", res.ID, err)
		}
		if hasTags {
			doc.Tags = tags
		}
		if hasManagedBy {
			doc.ManagedBy = managedBy
		}
		if res.Body, err = json.Marshal(doc); err != nil {
			return err
		}
		res.UpdatedAt = p.now()
		return tx.PutResource(r.Context(), res)
	})
	if err != nil {
		return err
	}
	g, err := groupBody(res)
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, g)
	return nil
}

// group reads the group of a request after the read check.
func (p *Provider) group(r *arm.Request) (*meta.Resource, error) {
	sub, name, err := p.groupRequest(r, actionGroupRead)
	if err != nil {
		return nil, err
	}
	var res *meta.Resource
	err = p.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		res, err = readGroup(r.Context(), tx, sub.ID, name)
		return err
	})
	return res, err
}

func (p *Provider) getGroup(w http.ResponseWriter, r *arm.Request) error {
	res, err := p.group(r)
	if err != nil {
		return err
	}
	g, err := groupBody(res)
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, g)
	return nil
}

// headGroup answers 204 if the group exists and 404 if not, without a body.
func (p *Provider) headGroup(w http.ResponseWriter, r *arm.Request) error {
	if _, err := p.group(r); err != nil {
		if e, ok := arm.AsError(err); ok && e.Status == http.StatusNotFound {
			w.WriteHeader(http.StatusNotFound)
			return nil
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// groupFilter is a parsed $filter of the resource group list.
type groupFilter struct {
	tagName, tagValue string
	hasValue          bool
}

func parseGroupFilter(s string) (groupFilter, error) {
	var f groupFilter
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	bad := arm.BadRequest("InvalidFilterInQueryString",
		"The $filter '%s' is not supported. Supported filters are \"tagName eq '{name}'\" and \"tagName eq '{name}' and tagValue eq '{value}'\".", s)
	clauses, ok := parseFilter(s)
	if !ok {
		return f, bad
	}
	for _, c := range clauses {
		switch {
		case strings.EqualFold(c.Name, "tagName") && f.tagName == "":
			f.tagName = c.Value
		case strings.EqualFold(c.Name, "tagValue") && !f.hasValue:
			f.tagValue, f.hasValue = c.Value, true
		default:
			return f, bad
		}
	}
	if f.tagName == "" {
		return f, bad
	}
	return f, nil
}

func (f groupFilter) match(tags map[string]string) bool {
	if f.tagName == "" {
		return true
	}
	for k, v := range tags {
		if strings.EqualFold(k, f.tagName) && (!f.hasValue || v == f.tagValue) {
			return true
		}
	}
	return false
}

// listGroups lists the groups of a subscription that the caller may read.
func (p *Provider) listGroups(w http.ResponseWriter, r *arm.Request) error {
	q := r.HTTP.URL.Query()
	filter, err := parseGroupFilter(q.Get("$filter"))
	if err != nil {
		return err
	}
	top := -1
	if s := q.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return arm.BadRequest("InvalidQueryParameterValue", "The value '%s' of query parameter '$top' must be a positive integer.", s)
		}
		top = n
	}
	sub, err := p.subscription(r, r.Params["subscriptionId"])
	if err != nil {
		return err
	}
	var rows []*meta.Resource
	if err := p.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		rows, err = tx.Resources(r.Context(), meta.ResourceQuery{Type: ResourceGroupType, SubscriptionID: sub.ID})
		return err
	}); err != nil {
		return err
	}
	out := list[groupJSON]{Value: []groupJSON{}}
	for _, res := range rows {
		if top >= 0 && len(out.Value) == top {
			break
		}
		ok, err := p.allowed(r, actionGroupRead, res.ID)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		g, err := groupBody(res)
		if err != nil {
			return err
		}
		if filter.match(g.Tags) {
			out.Value = append(out.Value, g)
		}
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// deleteGroup deletes an empty group and the role assignments at and below
// it. A group that still holds live resources is not deleted (409).
func (p *Provider) deleteGroup(w http.ResponseWriter, r *arm.Request) error {
	sub, name, err := p.groupRequest(r, actionGroupDelete)
	if err != nil {
		return err
	}
	err = p.store.Update(r.Context(), func(tx meta.Tx) error {
		ctx := r.Context()
		group, err := readGroup(ctx, tx, sub.ID, name)
		if err != nil {
			return err
		}
		if err := ensureGroupEmpty(ctx, tx, group); err != nil {
			return err
		}
		if err := tx.DeleteResource(ctx, group.ID); err != nil {
			return err
		}
		assignments, err := tx.RoleAssignments(ctx, "", group.ID)
		if err != nil {
			return err
		}
		for _, a := range assignments {
			if err := deleteAssignment(ctx, tx, a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// ensureGroupEmpty returns 409 ResourceGroupDeletionBlocked if the group
// still holds live resources, naming how many and of which types.
func ensureGroupEmpty(ctx context.Context, tx meta.Tx, group *meta.Resource) error {
	rows, err := tx.Resources(ctx, meta.ResourceQuery{SubscriptionID: group.SubscriptionID, ResourceGroup: group.Name})
	if err != nil {
		return err
	}
	var types []string
	n := 0
	for _, res := range rows {
		if strings.EqualFold(res.Type, ResourceGroupType) {
			continue
		}
		n++
		t := res.Type
		if id, err := arm.ParseResourceID(res.ID); err == nil {
			t = id.ResourceType() // the type as written, not lower-cased
		}
		if !slices.ContainsFunc(types, func(s string) bool { return strings.EqualFold(s, t) }) {
			types = append(types, t)
		}
	}
	if n == 0 {
		return nil
	}
	slices.Sort(types)
	return arm.Conflict("ResourceGroupDeletionBlocked",
		"The resource group '%s' cannot be deleted because it still contains %s of type %s. "+
			"Delete those resources first: this service does not delete the resources of a resource group.",
		group.Name, countNoun(n, "resource"), strings.Join(types, ", "))
}

// clusterType is the resource type whose move Azure refuses with a
// dedicated message.
const clusterType = "Microsoft.OperationalInsights/clusters"

// moveResources serves moveResources and validateMoveResources: both are
// refused, as this service does not move resources.
func (p *Provider) moveResources(w http.ResponseWriter, r *arm.Request) error {
	sub, name, err := p.groupRequest(r, actionGroupMove)
	if err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	rawIDs, ok, err := body.Array("resources")
	if err != nil {
		return invalidContent(err)
	}
	if !ok || len(rawIDs) == 0 {
		return arm.BadRequest("InvalidRequestContent", "The request content was invalid: property 'resources' must list the ids of the resources to move.")
	}
	target, ok, err := body.String("targetResourceGroup")
	if err != nil {
		return invalidContent(err)
	}
	if !ok || target == "" {
		return arm.BadRequest("InvalidRequestContent", "The request content was invalid: property 'targetResourceGroup' is required.")
	}
	ids := make([]string, len(rawIDs))
	for i, v := range rawIDs {
		s, ok := v.(string)
		if !ok {
			return arm.BadRequest("InvalidRequestContent", "The request content was invalid: property 'resources[%d]' must be a string.", i)
		}
		ids[i] = s
	}
	if err := p.store.View(r.Context(), func(tx meta.Tx) error {
		return EnsureGroupExists(r.Context(), tx, sub.ID, name)
	}); err != nil {
		return err
	}
	for _, s := range ids {
		if id, err := arm.ParseResourceID(s); err == nil && id.IsType(clusterType) {
			return arm.BadRequest("ResourceMoveNotSupported",
				"The resource '%s' cannot be moved: Cluster resource move to another resource group or subscription isn't supported.", s)
		}
	}
	return arm.BadRequest("ResourceMoveNotSupported",
		"Moving resources to another resource group or subscription is not supported by this service: "+
			"%s of resource group '%s' cannot be moved to '%s'.", countNoun(len(ids), "resource"), name, target)
}

// countNoun returns "1 resource" or "n resources".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
