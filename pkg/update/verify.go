package update

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/creativeprojects/go-selfupdate"
)

// Release asset names the verification chain depends on.
const (
	ChecksumsName = "checksums.sha256"
	SignatureName = ChecksumsName + ".sig"
)

// releaseKeyPEM is the public half of the key the release workflow signs
// checksums.sha256 with. It is a copy of packaging/cosign.pub; a test keeps
// the two equal.
//
//go:embed cosign.pub
var releaseKeyPEM []byte

// ErrVerification marks every failure to prove a download genuine.
var ErrVerification = errors.New("verification failed")

// verifyError is one such failure; errors.Is(err, ErrVerification) holds.
type verifyError struct{ msg string }

func (e *verifyError) Error() string        { return "verification failed: " + e.msg }
func (e *verifyError) Is(target error) bool { return target == ErrVerification }

func verifyErrorf(format string, args ...any) error {
	return &verifyError{fmt.Sprintf(format, args...)}
}

// ParsePublicKey reads the ECDSA key releases are signed with: a PEM
// "PUBLIC KEY" block as cosign writes it, or the base64 DER inside one
// (the form test builds pass in with -ldflags).
func ParsePublicKey(data []byte) (*ecdsa.PublicKey, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("release key: PEM block %q, want PUBLIC KEY", block.Type)
		}
		der = block.Bytes
	} else {
		dec, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
		if err != nil {
			return nil, fmt.Errorf("release key: neither PEM nor base64: %w", err)
		}
		der = dec
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("release key: %w", err)
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("release key: a %T, want an ECDSA key", key)
	}
	return ec, nil
}

// cosignValidator checks checksums.sha256 against checksums.sha256.sig, a
// key-based cosign signature: base64 of an ASN.1 DER ECDSA signature over
// the SHA-256 of the file. (go-selfupdate's ECDSAValidator wants raw DER
// and a certificate, so it does not fit cosign's files.)
type cosignValidator struct{ key *ecdsa.PublicKey }

func (v cosignValidator) Validate(filename string, content, sig []byte) error {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(sig)))
	if err != nil {
		return verifyErrorf("%s is not a base64 cosign signature", SignatureName)
	}
	digest := sha256.Sum256(content)
	if !ecdsa.VerifyASN1(v.key, digest[:], raw) {
		return verifyErrorf("the signature of %s does not match the release key built into cco", filename)
	}
	return nil
}

func (v cosignValidator) GetValidationAssetName(name string) string { return name + ".sig" }

// checksumValidator checks an archive against its line in
// checksums.sha256 ("HEX  NAME", as sha256sum writes it). Unlike
// go-selfupdate's ChecksumValidator, a malformed line elsewhere in the file
// does not matter, and a missing line is named as such.
type checksumValidator struct{}

func (checksumValidator) Validate(filename string, content, sums []byte) error {
	want, ok := findChecksum(sums, filename)
	if !ok {
		return verifyErrorf("%s has no line for %s", ChecksumsName, filename)
	}
	sum := sha256.Sum256(content)
	got := fmt.Sprintf("%x", sum)
	if got != want {
		return verifyErrorf("%s has SHA-256 %s, but %s says %s", filename, got, ChecksumsName, want)
	}
	return nil
}

func (checksumValidator) GetValidationAssetName(string) string { return ChecksumsName }

// findChecksum returns the lower-case hex hash listed for name.
func findChecksum(sums []byte, name string) (string, bool) {
	for _, line := range bytes.Split(sums, []byte("\n")) {
		hash, file, ok := bytes.Cut(bytes.TrimRight(line, "\r"), []byte("  "))
		if !ok {
			// sha256sum -b writes "HEX *NAME".
			hash, file, ok = bytes.Cut(line, []byte(" *"))
		}
		if ok && string(file) == name && len(hash) == 64 {
			return string(bytes.ToLower(hash)), true
		}
	}
	return "", false
}

// newValidator chains the checks: archive -> checksums.sha256 ->
// checksums.sha256.sig -> the public key.
func newValidator(key *ecdsa.PublicKey) selfupdate.Validator {
	return new(selfupdate.PatternValidator).
		Add(ChecksumsName, cosignValidator{key}).
		SkipValidation("*.sig").
		Add("*", checksumValidator{})
}
