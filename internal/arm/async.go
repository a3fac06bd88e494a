package arm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Operation statuses as Resource Manager reports them.
const (
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
)

// Operation is the record of a long-running operation. Its outcome is
// decided when it starts (Error nil means success) and becomes visible at
// DoneAt, so a status is a pure function of the record and the clock.
type Operation struct {
	ID             string    `json:"id"`
	Namespace      string    `json:"namespace"` // provider namespace serving the status path
	Location       string    `json:"location"`
	SubscriptionID string    `json:"subscriptionId"`
	ResourceID     string    `json:"resourceId"`
	Action         string    `json:"action"`
	StartTime      time.Time `json:"startTime"`
	DoneAt         time.Time `json:"doneAt"`
	Error          *Error    `json:"error,omitempty"`
	ErrorStatus    int       `json:"errorStatus,omitempty"` // Error.Status, which the wire form omits
	NoContent      bool      `json:"noContent,omitempty"`   // final result of the results link is 204
}

// Status returns the operation's status at now.
func (op *Operation) Status(now time.Time) string {
	switch {
	case now.Before(op.DoneAt):
		return StatusInProgress
	case op.Error != nil:
		return StatusFailed
	default:
		return StatusSucceeded
	}
}

// ErrOperationNotFound is returned by an OperationStore for an unknown id.
var ErrOperationNotFound = errors.New("operation not found")

// OperationStore keeps operation records.
type OperationStore interface {
	PutOperation(ctx context.Context, op *Operation) error
	GetOperation(ctx context.Context, id string) (*Operation, error)
}

// Operations serves and starts long-running operations.
type Operations struct {
	Store OperationStore
	Now   func() time.Time
	// Authorize checks that the caller may see an operation on resourceID.
	Authorize func(r *Request, resourceID string) error
	// RetryAfter is the polling interval suggested to clients.
	RetryAfter time.Duration
}

func (o *Operations) statusURL(r *Request, op *Operation, kind string) string {
	return fmt.Sprintf("%s/subscriptions/%s/providers/%s/locations/%s/%s/%s?api-version=%s",
		r.BaseURL(), url.PathEscape(op.SubscriptionID), op.Namespace, url.PathEscape(op.Location), kind,
		url.PathEscape(op.ID), url.QueryEscape(r.APIVersion))
}

func (o *Operations) retryAfter() string {
	s := int(o.RetryAfter / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

// Accept records op and answers the request that started it with status
// (201 or 202) and body, with the Azure-AsyncOperation, Location and
// Retry-After headers that Resource Manager clients poll.
func (o *Operations) Accept(w http.ResponseWriter, r *Request, op *Operation, status int, body any) error {
	if op.Error != nil {
		op.ErrorStatus = op.Error.Status
	}
	if err := o.Store.PutOperation(r.Context(), op); err != nil {
		return fmt.Errorf("record operation %s: %w", op.ID, err)
	}
	w.Header().Set("Azure-AsyncOperation", o.statusURL(r, op, "operationStatuses"))
	w.Header().Set("Location", o.statusURL(r, op, "operationResults"))
	w.Header().Set("Retry-After", o.retryAfter())
	if body == nil {
		w.WriteHeader(status)
		return nil
	}
	WriteJSON(w, status, body)
	return nil
}

// Register adds the operationStatuses and operationResults routes of
// namespace to rt.
func (o *Operations) Register(rt *Router, namespace string, versions []string) {
	base := "/subscriptions/{subscriptionId}/providers/" + namespace + "/locations/{location}/"
	rt.Handle(base+"operationStatuses/{operationId}", versions, map[string]Handler{http.MethodGet: o.serveStatus})
	rt.Handle(base+"operationResults/{operationId}", versions, map[string]Handler{http.MethodGet: o.serveResult})
}

func (o *Operations) lookup(r *Request) (*Operation, error) {
	id := r.Params["operationId"]
	op, err := o.Store.GetOperation(r.Context(), id)
	if errors.Is(err, ErrOperationNotFound) || (err == nil && !strings.EqualFold(op.SubscriptionID, r.Params["subscriptionId"])) {
		return nil, Errorf(http.StatusNotFound, "OperationNotFound", "The operation '%s' was not found.", id)
	}
	if err != nil {
		return nil, err
	}
	if op.Error != nil {
		op.Error.Status = op.ErrorStatus
	}
	if o.Authorize != nil {
		if err := o.Authorize(r, op.ResourceID); err != nil {
			return nil, err
		}
	}
	return op, nil
}

type operationStatus struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Status    string     `json:"status"`
	StartTime string     `json:"startTime"`
	EndTime   string     `json:"endTime,omitempty"`
	Error     *Error     `json:"error,omitempty"`
	Props     *opResProp `json:"properties,omitempty"`
}

type opResProp struct {
	ResourceID string `json:"resourceId"`
}

func (o *Operations) serveStatus(w http.ResponseWriter, r *Request) error {
	op, err := o.lookup(r)
	if err != nil {
		return err
	}
	now := o.Now()
	st := operationStatus{
		ID:        r.HTTP.URL.Path,
		Name:      op.ID,
		Status:    op.Status(now),
		StartTime: op.StartTime.UTC().Format(time.RFC3339Nano),
		Props:     &opResProp{ResourceID: op.ResourceID},
	}
	if st.Status == StatusInProgress {
		w.Header().Set("Retry-After", o.retryAfter())
	} else {
		st.EndTime = op.DoneAt.UTC().Format(time.RFC3339Nano)
		st.Error = op.Error
	}
	WriteJSON(w, http.StatusOK, st)
	return nil
}

func (o *Operations) serveResult(w http.ResponseWriter, r *Request) error {
	op, err := o.lookup(r)
	if err != nil {
		return err
	}
	switch op.Status(o.Now()) {
	case StatusInProgress:
		w.Header().Set("Location", o.statusURL(r, op, "operationResults"))
		w.Header().Set("Retry-After", o.retryAfter())
		w.WriteHeader(http.StatusAccepted)
		return nil
	case StatusFailed:
		return op.Error
	}
	if op.NoContent {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	WriteJSON(w, http.StatusOK, struct{}{})
	return nil
}
