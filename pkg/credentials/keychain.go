package credentials

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

// indexUser is the keychain item that lists the names of cco's
// credentials, one a line; it is not a valid credential name, so it cannot
// collide with one.
const indexUser = ".names"

// keychain is the OS keychain backend.
type keychain struct {
	kr      Keyring
	name    string // "Secret Service", ...
	timeout time.Duration
}

// probe asks for the index with a short timeout: an answer, even "not
// found", means the keychain is there and unlocked enough to use.
func (k *keychain) probe(d time.Duration) error {
	_, err := timed(d, func() (string, error) { return k.kr.Get(Service, indexUser) })
	if err == nil || errors.Is(err, ErrNotFound) {
		return nil
	}
	return fmt.Errorf("the %s did not answer: %w", k.name, err)
}

func (k *keychain) get(name string) ([]byte, error) {
	v, err := timed(k.timeout, func() (string, error) { return k.kr.Get(Service, name) })
	if err != nil {
		return nil, k.wrap(err)
	}
	return []byte(v), nil
}

// wrap names the keychain in an error from it.
func (k *keychain) wrap(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("the %s: %w", k.name, err)
}

func (k *keychain) set(name string, value []byte) error {
	v := string(value)
	if _, err := timed(k.timeout, func() (struct{}, error) { return struct{}{}, k.kr.Set(Service, name, v) }); err != nil {
		return k.wrap(err)
	}
	return k.editIndex(func(names []string) []string {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		return names
	})
}

func (k *keychain) delete(name string) error {
	_, err := timed(k.timeout, func() (struct{}, error) { return struct{}{}, k.kr.Delete(Service, name) })
	if err != nil && !errors.Is(err, ErrNotFound) {
		return k.wrap(err)
	}
	// Drop the name even when the item was already gone, so that the index
	// heals after an item was removed by other means.
	if ierr := k.editIndex(func(names []string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return n == name })
	}); ierr != nil && err == nil {
		err = ierr
	}
	return err
}

func (k *keychain) list() ([]string, error) {
	v, err := timed(k.timeout, func() (string, error) { return k.kr.Get(Service, indexUser) })
	if errors.Is(err, ErrNotFound) {
		return []string{}, nil
	}
	if err != nil {
		return nil, k.wrap(err)
	}
	return parseIndex(v), nil
}

// editIndex rewrites the list of names with edit's result; an empty list
// removes the index item.
func (k *keychain) editIndex(edit func([]string) []string) error {
	names, err := k.list()
	if err != nil {
		return err
	}
	before := strings.Join(names, "\n")
	names = edit(names)
	slices.Sort(names)
	after := strings.Join(names, "\n")
	switch {
	case after == before:
		return nil
	case after == "":
		_, err = timed(k.timeout, func() (struct{}, error) { return struct{}{}, k.kr.Delete(Service, indexUser) })
		if errors.Is(err, ErrNotFound) {
			err = nil
		}
	default:
		_, err = timed(k.timeout, func() (struct{}, error) { return struct{}{}, k.kr.Set(Service, indexUser, after) })
	}
	if err != nil {
		return fmt.Errorf("the %s: update the list of cco's credential names: %w", k.name, err)
	}
	return nil
}

// parseIndex reads the index item: valid names, sorted, once each.
func parseIndex(v string) []string {
	names := []string{}
	for _, n := range strings.Split(v, "\n") {
		if ValidateName(n) == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// timed runs f, giving up after d. A call that gives up keeps running in
// the background; the keychain libraries offer no way to cancel one.
func timed[T any](d time.Duration, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
		var zero T
		return zero, fmt.Errorf("no answer within %s", d)
	}
}

// systemKeyring is the operating system's keychain, through go-keyring.
type systemKeyring struct{}

func (systemKeyring) Get(service, user string) (string, error) {
	v, err := keyring.Get(service, user)
	return v, keyringError(err)
}

func (systemKeyring) Set(service, user, password string) error {
	return keyringError(keyring.Set(service, user, password))
}

func (systemKeyring) Delete(service, user string) error {
	return keyringError(keyring.Delete(service, user))
}

func keyringError(err error) error {
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return errors.New("the value is too large for the keychain")
	}
	return err
}
