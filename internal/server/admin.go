package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/keyvault"
	"github.com/kustodian/kustodian/internal/store"
)

// adminHandler serves the operator API under /admin/:
//
//	GET    /admin/outages                 list injected key vault outages
//	POST   /admin/outages {"vault","duration"} make a vault of the embedded
//	                                       Key Vault answer 503 for a while
//	DELETE /admin/outages/{vault}         end an outage
//	GET    /admin/accounts                 storage accounts' key states
//	POST   /admin/accounts/refresh         re-check every customer key now
//	POST   /admin/compact                  merge small segments now (one pass)
//
// It needs a Resource Manager token of the operator principal (the
// bootstrap principal). The outage drill rehearses the seed's Key Vault
// outage path for real: the data plane answers 503, the storage accounts
// keep their cached keys for the grace, then become Unavailable.
type adminHandler struct {
	ids      *identity.Service
	kv       *keyvault.Service
	keys     *keys
	refresh  func(context.Context) // re-check keys, reload storage accounts
	compact  func(context.Context) (store.CompactStats, error)
	operator string // object id
	now      func() time.Time
}

type adminError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeAdmin(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func adminFail(w http.ResponseWriter, status int, code, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeAdmin(w, status, map[string]any{"error": adminError{Code: code, Message: msg}})
}

func (h *adminHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, ok := identity.BearerToken(r)
	if !ok {
		adminFail(w, http.StatusUnauthorized, "AuthenticationFailed", "The operator API needs a Resource Manager bearer token.")
		return
	}
	c, err := h.ids.Verify(r.Context(), raw, ResourceManagerAudiences...)
	if err != nil {
		if errors.Is(err, identity.ErrInvalidToken) {
			adminFail(w, http.StatusUnauthorized, "InvalidAuthenticationToken", err.Error())
			return
		}
		adminFail(w, http.StatusInternalServerError, "InternalServerError", "The token could not be checked.")
		return
	}
	if !strings.EqualFold(c.ObjectID, h.operator) {
		adminFail(w, http.StatusForbidden, "AuthorizationFailed", "Only the operator principal may use the operator API.")
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/admin/outages" && r.Method == http.MethodGet:
		h.listOutages(w)
	case path == "/admin/outages" && r.Method == http.MethodPost:
		var body struct {
			Vault    string `json:"vault"`
			Duration string `json:"duration"`
		}
		data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err := json.Unmarshal(data, &body); err != nil || body.Vault == "" {
			adminFail(w, http.StatusBadRequest, "BadRequest", `The body must be {"vault":"NAME","duration":"10m"}.`)
			return
		}
		d, err := time.ParseDuration(body.Duration)
		if err != nil || d <= 0 || d > 24*time.Hour {
			adminFail(w, http.StatusBadRequest, "BadRequest", "duration must be a Go duration between 0 and 24h, e.g. \"10m\".")
			return
		}
		h.kv.InjectOutage(body.Vault, h.now().Add(d))
		h.listOutages(w)
	case strings.HasPrefix(path, "/admin/outages/") && r.Method == http.MethodDelete:
		h.kv.InjectOutage(strings.TrimPrefix(path, "/admin/outages/"), time.Time{})
		h.listOutages(w)
	case path == "/admin/accounts" && r.Method == http.MethodGet:
		h.listAccounts(w, r)
	case path == "/admin/accounts/refresh" && r.Method == http.MethodPost:
		// Re-check every customer key now instead of at the next refresh.
		h.refresh(r.Context())
		h.listAccounts(w, r)
	case path == "/admin/compact" && r.Method == http.MethodPost:
		st, err := h.compact(r.Context())
		if err != nil {
			adminFail(w, http.StatusServiceUnavailable, "CompactionFailed",
				"Compaction did not finish; what it did is kept, the rest is retried at the next pass: "+err.Error())
			return
		}
		writeAdmin(w, http.StatusOK, map[string]any{"accounts": st.Accounts, "skipped": st.Skipped,
			"groups": st.Groups, "abandoned": st.Abandoned, "segmentsIn": st.SegmentsIn, "segmentsOut": st.SegmentsOut,
			"rows": st.Rows, "bytesIn": st.BytesIn, "bytesOut": st.BytesOut})
	default:
		adminFail(w, http.StatusNotFound, "NotFound", "No such operator endpoint.")
	}
}

func (h *adminHandler) listOutages(w http.ResponseWriter) {
	out := []map[string]string{}
	for v, until := range h.kv.Outages() {
		out = append(out, map[string]string{"vault": v, "until": until.UTC().Format(time.RFC3339)})
	}
	writeAdmin(w, http.StatusOK, map[string]any{"value": out})
}

func (h *adminHandler) listAccounts(w http.ResponseWriter, r *http.Request) {
	accounts, err := h.keys.accounts(r.Context())
	if err != nil {
		adminFail(w, http.StatusInternalServerError, "InternalServerError", "The accounts could not be listed.")
		return
	}
	out := []map[string]string{}
	for _, a := range accounts {
		st, cause := h.keys.m.State(a)
		out = append(out, map[string]string{"account": a, "state": string(st), "cause": cause})
	}
	writeAdmin(w, http.StatusOK, map[string]any{"value": out})
}
