package query

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/kustodian/kustodian/internal/identity"
)

// The batch API: POST /v1/$batch with {"requests": [{"id", "headers",
// "body", "method", "path", "workspace"}, ...]} answers 200 with
// {"responses": [{"id", "status", "body"}, ...]}, one response per request
// in order, each body a query's response or its error. The batch's token
// authenticates every request; each is authorized on its own workspaces
// and runs as a query of its own, one after the other, under the same
// limits and admission as any query (a slot each, released when its
// response is encoded).

// maxBatchRequests bounds the requests of a batch.
const maxBatchRequests = 10

func batchPath(path string) bool {
	return path == "/v1/$batch" || path == "/v1/%24batch"
}

type batchRequest struct {
	ID        string            `json:"id"`
	Headers   map[string]string `json:"headers"`
	Body      *queryRequest     `json:"body"`
	Method    string            `json:"method"`
	Path      string            `json:"path"`
	Workspace string            `json:"workspace"`
}

func (h *Handler) serveBatch(w http.ResponseWriter, r *http.Request) {
	start := h.o.Now()
	claims, reqs, err := h.batchRequests(r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			h.o.Log.Error("query batch failed", "err", err)
			ae = errorf(http.StatusInternalServerError, "InternalServerError", "The batch failed on the server.")
		}
		if ae.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		writeJSON(w, ae.Status, map[string]any{"error": ae})
		if h.o.Observe != nil {
			h.o.Observe(ae.Code, h.o.Now().Sub(start))
		}
		return
	}
	// The responses stream as each query finishes, so that a batch holds
	// one result at a time, as a single query does.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"responses":[`)
	for i, req := range reqs {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := h.batchOne(r.Context(), bw, claims, req); err != nil {
			h.o.Log.Debug("writing a batch response failed", "err", err)
			return
		}
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		h.o.Log.Debug("writing a batch response failed", "err", err)
	}
}

// batchRequests authenticates a batch and reads its requests.
func (h *Handler) batchRequests(r *http.Request) (*identity.Claims, []batchRequest, error) {
	if r.Method != http.MethodPost {
		return nil, nil, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "Use POST.")
	}
	claims, err := h.authenticate(r)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		return nil, nil, errorf(http.StatusBadRequest, "BadArgumentError", "The request body could not be read or exceeds 1 MiB.")
	}
	var b struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, nil, errorf(http.StatusBadRequest, "BadArgumentError", "The request body is not valid JSON: %v.", err)
	}
	if len(b.Requests) == 0 || len(b.Requests) > maxBatchRequests {
		return nil, nil, errorf(http.StatusBadRequest, "BadArgumentError", "A batch holds 1 to %d requests, not %d.", maxBatchRequests, len(b.Requests))
	}
	return claims, b.Requests, nil
}

// batchOne runs one request of a batch and writes its response to w. It
// returns an error only when writing fails.
func (h *Handler) batchOne(ctx context.Context, w *bufio.Writer, claims *identity.Claims, req batchRequest) error {
	start := h.o.Now()
	head := func(status int, hdr map[string]string) {
		b, _ := json.Marshal(struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers,omitempty"`
		}{req.ID, status, hdr})
		w.Write(b[:len(b)-1]) // without the closing brace
		w.WriteString(`,"body":`)
	}
	fail := func(err error) error {
		var ae *apiError
		var le *loggedError
		switch {
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
			ae = errorf(499, "ClientClosedRequest", "The client closed the request before the query finished.")
		case errors.As(err, &le):
			h.o.Log.Error("query failed", "code", le.api.Code, "err", le.err)
			ae = le.api
		case !errors.As(err, &ae):
			h.o.Log.Error("query failed", "err", err)
			ae = errorf(http.StatusInternalServerError, "InternalServerError", "The query failed on the server.")
		}
		head(ae.Status, nil)
		b, _ := json.Marshal(map[string]any{"error": ae})
		w.Write(b)
		w.WriteByte('}')
		if h.o.Observe != nil {
			h.o.Observe(ae.Code, h.o.Now().Sub(start))
		}
		_, err = w.Write(nil)
		return err
	}
	if req.Method != "" && !strings.EqualFold(req.Method, http.MethodPost) {
		return fail(errorf(http.StatusBadRequest, "BadArgumentError", "A batch request's method must be POST."))
	}
	if req.Body == nil {
		return fail(errorf(http.StatusBadRequest, "BadArgumentError", "A batch request needs a body with a query."))
	}
	var tgt target
	switch {
	case req.Path == "" || req.Path == "/query":
		if req.Workspace == "" {
			return fail(errorf(http.StatusBadRequest, "BadArgumentError", "A batch request needs a workspace."))
		}
		tgt = target{customerID: req.Workspace}
	default:
		var err error
		if tgt, err = routeTarget("/v1" + req.Path); err != nil {
			return fail(err)
		}
	}
	hdr := http.Header{}
	for k, v := range req.Headers {
		hdr.Set(k, v)
	}
	res, err := h.execute(ctx, claims, tgt, *req.Body, hdr)
	if err != nil {
		return fail(err)
	}
	defer res.release()
	var rh map[string]string
	if len(res.applied) > 0 {
		rh = map[string]string{"Preference-Applied": strings.Join(res.applied, ",")}
	}
	head(http.StatusOK, rh)
	if err := encodeResponse(w, res); err != nil {
		return err
	}
	w.WriteByte('}')
	code := ""
	if res.Error != nil {
		code = res.Error.Code
	}
	if h.o.Observe != nil {
		h.o.Observe(code, h.o.Now().Sub(start))
	}
	_, err = w.Write(nil)
	return err
}
