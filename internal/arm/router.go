package arm

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// MaxBodyBytes bounds the size of a Resource Manager request body.
const MaxBodyBytes = 4 << 20

// Caller is the authenticated principal of a request.
type Caller struct {
	TenantID string
	ObjectID string
	AppID    string
}

// Authenticator authenticates a request, returning an *Error (401) when the
// request carries no valid token for Resource Manager.
type Authenticator func(r *http.Request) (Caller, error)

// Params holds the values of a route's {placeholders}, keyed by the
// placeholder's name as written in the pattern; values keep the case the
// client used.
type Params map[string]string

// Request is a routed Resource Manager request.
type Request struct {
	HTTP          *http.Request
	Params        Params
	APIVersion    string
	Caller        Caller
	CorrelationID string
}

// Context returns the request's context.
func (r *Request) Context() context.Context { return r.HTTP.Context() }

// BaseURL returns the scheme and host the client used, e.g.
// "https://127.0.0.1:8443", for building absolute links.
func (r *Request) BaseURL() string {
	scheme := "https"
	if r.HTTP.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.HTTP.Host
}

// Body reads the request body with the lenient JSON reader and returns it as
// an Object. An empty or malformed body, or one that is not a JSON object, is
// a 400 InvalidRequestContent.
func (r *Request) Body() (Object, error) {
	data, err := io.ReadAll(io.LimitReader(r.HTTP.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, BadRequest("InvalidRequestContent", "The request content could not be read: %v.", err)
	}
	if len(data) > MaxBodyBytes {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request content size exceeds the maximum of %d bytes.", MaxBodyBytes)
	}
	v, err := DecodeLenient(data)
	if err != nil {
		return nil, BadRequest("InvalidRequestContent",
			"The request content was invalid and could not be deserialized: '%v'", err)
	}
	o, ok := AsObject(v)
	if !ok {
		return nil, BadRequest("InvalidRequestContent",
			"The request content was invalid and could not be deserialized: the body must be a JSON object.")
	}
	return o, nil
}

// Handler serves one method of one route. Returning an error writes it in
// the ARM envelope; a handler that returns nil has written the response.
type Handler func(w http.ResponseWriter, r *Request) error

// Router routes Resource Manager requests. Every request is authenticated
// first, then matched (case-insensitively) to a route, then its api-version
// is checked against the versions the route's resource type supports.
type Router struct {
	// Challenge, if set, is the WWW-Authenticate header of 401 answers.
	Challenge string
	auth      Authenticator
	log       *slog.Logger
	routes    []*route
}

type route struct {
	pattern  string
	scoped   bool     // pattern starts with {*scope}
	segs     []string // pattern segments after {*scope}, if any
	versions []string
	handlers map[string]Handler
}

// NewRouter returns a router that authenticates every request with auth.
func NewRouter(auth Authenticator, log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	return &Router{auth: auth, log: log}
}

// Handle registers handlers (by HTTP method) for pattern. A pattern is a
// path whose segments are literals (matched case-insensitively) or
// {placeholders}; a pattern may start with {*scope}, which matches any
// (possibly empty) resource id prefix and yields it as Params["scope"]
// ("/" for the root). apiVersions lists the api-versions accepted; nil
// accepts any. Routes are tried in registration order.
func (rt *Router) Handle(pattern string, apiVersions []string, handlers map[string]Handler) {
	r := &route{pattern: pattern, versions: apiVersions, handlers: handlers}
	segs := splitPath(pattern)
	if len(segs) > 0 && segs[0] == "{*scope}" {
		r.scoped = true
		segs = segs[1:]
	}
	r.segs = segs
	rt.routes = append(rt.routes, r)
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (r *route) match(segs []string) (Params, bool) {
	if !r.scoped {
		if len(segs) != len(r.segs) {
			return nil, false
		}
		return matchSegs(r.segs, segs, Params{})
	}
	if len(segs) < len(r.segs) {
		return nil, false
	}
	split := len(segs) - len(r.segs)
	p, ok := matchSegs(r.segs, segs[split:], Params{})
	if !ok {
		return nil, false
	}
	p["scope"] = "/" + strings.Join(segs[:split], "/")
	return p, true
}

func matchSegs(pattern, segs []string, p Params) (Params, bool) {
	for i, ps := range pattern {
		if strings.HasPrefix(ps, "{") && strings.HasSuffix(ps, "}") {
			if segs[i] == "" {
				return nil, false
			}
			p[ps[1:len(ps)-1]] = segs[i]
			continue
		}
		if !strings.EqualFold(ps, segs[i]) {
			return nil, false
		}
	}
	return p, true
}

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	corr := hr.Header.Get("x-ms-correlation-request-id")
	if _, err := uuid.Parse(corr); err != nil {
		corr = uuid.NewString()
	}
	w.Header().Set("x-ms-correlation-request-id", corr)
	w.Header().Set("x-ms-request-id", uuid.NewString())
	fail := func(err error) {
		if _, ok := AsError(err); !ok {
			rt.log.Error("resource manager request failed", "method", hr.Method, "path", hr.URL.Path,
				"correlationId", corr, "err", err)
		}
		WriteError(w, err, corr)
	}

	caller, err := rt.auth(hr)
	if err != nil {
		if rt.Challenge != "" {
			w.Header().Set("WWW-Authenticate", rt.Challenge)
		}
		fail(err)
		return
	}
	segs, err := pathSegments(hr.URL)
	if err != nil {
		fail(BadRequest("InvalidRequestUri", "The request URI is invalid: %v.", err))
		return
	}
	var (
		matched *route
		params  Params
	)
	for _, r := range rt.routes {
		if p, ok := r.match(segs); ok {
			matched, params = r, p
			break
		}
	}
	if matched == nil {
		fail(Errorf(http.StatusNotFound, "NotFound", "No HTTP resource was found that matches the request URI '%s'.", hr.URL.Path))
		return
	}
	h, ok := matched.handlers[hr.Method]
	if !ok {
		fail(Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The requested resource does not support http method '%s'.", hr.Method))
		return
	}
	version := hr.URL.Query().Get("api-version")
	if version == "" {
		fail(ErrMissingAPIVersion)
		return
	}
	if matched.versions != nil && !slices.Contains(matched.versions, strings.ToLower(version)) {
		fail(BadRequest("InvalidApiVersionParameter",
			"The api-version '%s' is invalid. The supported versions are '%s'.", version, strings.Join(matched.versions, ",")))
		return
	}
	req := &Request{HTTP: hr, Params: params, APIVersion: strings.ToLower(version), Caller: caller, CorrelationID: corr}
	if err := h(w, req); err != nil {
		fail(err)
	}
}

func pathSegments(u *url.URL) ([]string, error) {
	raw := splitPath(u.EscapedPath())
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		segs[i] = v
	}
	return segs, nil
}
