package keyvault

import (
	"errors"
	"net/http"

	"github.com/kustodian/kustodian/internal/meta"
)

// Results of the crypto-operation metric.
const (
	resultSuccess  = "success"
	resultRejected = "rejected"
	resultError    = "error"
)

// errDecryptFailed is the one answer to every failed decrypt or unwrap:
// it says nothing of why (no padding oracle).
var errDecryptFailed = badParameter("The value could not be decrypted with this key and algorithm.")

// keyActionHandler returns the handler of a cryptographic operation (a
// key operation name: wrapKey, unwrapKey, encrypt, decrypt, sign, verify).
func keyActionHandler(op string) handlerFunc {
	return func(c *call) (int, any, *apiError) { return c.keyOperation(op) }
}

// needsWindow reports whether an operation is refused outside the key's
// nbf/exp window. Key Vault lets decrypt, unwrap and verify run on expired
// and not-yet-valid keys so data protected while the key was valid stays
// readable.
func needsWindow(op string) bool { return op == OpEncrypt || op == OpWrapKey || op == OpSign }

// keyOperation runs a cryptographic operation on a key version.
func (c *call) keyOperation(op string) (int, any, *apiError) {
	var rec *keyRecord
	var v *versionRecord
	if e := c.s.txn(c.ctx, false, func(tx meta.Tx) error {
		var err error
		rec, v, err = liveKey(c.ctx, tx, c.vaultName, c.name, c.version)
		return err
	}); e != nil {
		return 0, nil, e
	}
	result := resultRejected
	defer func() { c.s.cryptoOps.WithLabelValues(op, v.Backend, result).Inc() }()

	if !v.Enabled {
		return 0, nil, forbidden(InnerKeyDisabled, "Operation %s is not allowed on a disabled key.", op)
	}
	if !v.hasOp(op) {
		return 0, nil, forbidden(InnerForbiddenByPolicy, "Operation %s is not allowed by the key's key_ops.", op)
	}
	if needsWindow(op) {
		if e := windowCheck(v, op, c.now); e != nil {
			return 0, nil, e
		}
	}
	b := c.s.backendFor(v.Backend)
	if b == nil {
		result = resultError
		return 0, nil, errBackendUnavailable
	}
	kid := c.kid(rec.Name, v.Version)

	if op == OpVerify {
		var req verifyRequest
		if e := decode(c, &req, maxBodyBytes); e != nil {
			return 0, nil, e
		}
		if _, _, ok := signatureHash(req.Alg); !ok {
			return 0, nil, badAlgorithm(req.Alg, "RS256, RS384, RS512, PS256, PS384 or PS512")
		}
		if req.Digest == nil || req.Value == nil {
			return 0, nil, badParameter("verify needs digest and value (the signature).")
		}
		ok, err := rsaVerify(v.publicKey(), req.Alg, *req.Digest, *req.Value)
		if err != nil {
			return 0, nil, badParameter("The digest does not have the length %s needs.", req.Alg)
		}
		result = resultSuccess
		return http.StatusOK, verifyResult{Value: ok}, nil
	}

	var req keyOperationRequest
	if e := decode(c, &req, maxBodyBytes); e != nil {
		return 0, nil, e
	}
	if req.Value == nil {
		return 0, nil, badParameter("The value to %s is missing.", op)
	}
	if len(req.IV) > 0 || len(req.AAD) > 0 || len(req.Tag) > 0 {
		return 0, nil, badParameter("iv, aad and tag apply to symmetric keys only; this is an RSA key.")
	}
	var (
		out []byte
		err error
	)
	switch op {
	case OpEncrypt, OpWrapKey:
		if !isEncryptionAlg(req.Alg) {
			return 0, nil, badAlgorithm(req.Alg, "RSA-OAEP-256, RSA-OAEP or RSA1_5")
		}
		out, err = b.Encrypt(c.ctx, v.Ref, v.publicKey(), req.Alg, *req.Value)
		if errors.Is(err, errPlaintextTooLong) {
			return 0, nil, badParameter("The value is too long for this key and algorithm.")
		}
	case OpDecrypt, OpUnwrapKey:
		if !isEncryptionAlg(req.Alg) {
			return 0, nil, badAlgorithm(req.Alg, "RSA-OAEP-256, RSA-OAEP or RSA1_5")
		}
		out, err = b.Decrypt(c.ctx, v.Ref, req.Alg, *req.Value)
		if errors.Is(err, ErrDecryption) {
			return 0, nil, errDecryptFailed
		}
	case OpSign:
		h, _, ok := signatureHash(req.Alg)
		if !ok {
			return 0, nil, badAlgorithm(req.Alg, "RS256, RS384, RS512, PS256, PS384 or PS512")
		}
		if len(*req.Value) != h.Size() {
			return 0, nil, badParameter("The digest to sign with %s must be %d bytes.", req.Alg, h.Size())
		}
		out, err = b.Sign(c.ctx, v.Ref, req.Alg, *req.Value)
	}
	if errors.Is(err, ErrUnsupportedAlgorithm) {
		return 0, nil, badAlgorithm(req.Alg, "an RSA algorithm")
	}
	if err != nil {
		result = resultError
		c.s.log.Error("keyvault: cryptographic operation failed in the backend", "op", op, "vault", c.vaultName,
			"key", rec.Name, "version", v.Version, "backend", v.Backend, "err", err)
		return 0, nil, errInternal
	}
	result = resultSuccess
	return http.StatusOK, keyOperationResult{KID: kid, Value: out}, nil
}

// badAlgorithm refuses an algorithm.
func badAlgorithm(alg, want string) *apiError {
	if alg == "" {
		return badParameter("The algorithm (alg) is missing: use %s.", want)
	}
	return badParameter("The algorithm %q is not supported for this RSA key: use %s.", alg, want)
}
