package update

import (
	"fmt"
	"strings"

	"github.com/visiquate/cco/pkg/version"
)

// Request says what to look for.
type Request struct {
	Channel string // Stable or Beta; empty means Stable
	Version string // an exact release (a leading v is allowed); empty means the newest eligible
	Force   bool   // allow a downgrade, a reinstall, or replacing a development build
}

// RequestError is a Request that Validate refuses: Field is "channel" or
// "version", Value what was given.
type RequestError struct {
	Field string
	Value string
	Err   error
}

func (e *RequestError) Error() string { return fmt.Sprintf("%s %q: %v", e.Field, e.Value, e.Err) }
func (e *RequestError) Unwrap() error { return e.Err }

// Validate checks a Request as a user or a configuration gave it and
// returns it in canonical form: an empty channel becomes Stable and the
// version loses its "v". It is the one place that knows what a valid
// channel and version are; Check and CheckCached run every Request through
// it, and `cco update` runs its flags through it before it loads anything.
func (r Request) Validate() (Request, error) {
	_, r, err := r.parse()
	return r, err
}

// parse is Validate that also returns the wanted version (the zero Version
// when the Request wants the newest).
func (r Request) parse() (version.Version, Request, error) {
	switch r.Channel {
	case Stable, Beta:
	case "":
		r.Channel = Stable
	default:
		return version.Version{}, r, &RequestError{Field: "channel", Value: r.Channel, Err: fmt.Errorf("want %s or %s", Stable, Beta)}
	}
	if r.Version == "" {
		return version.Version{}, r, nil
	}
	v, err := version.Parse(r.Version)
	if err != nil {
		return version.Version{}, r, &RequestError{Field: "version", Value: r.Version, Err: err}
	}
	r.Version = v.String()
	return v, r, nil
}

// situation is everything the decision about an update depends on: the
// request, the installed binary, and what the release search found. Check
// gathers it (asking GitHub, running the binary, looking at package
// databases); decide only reads it.
type situation struct {
	req  Request         // validated
	want version.Version // req.Version parsed; the zero Version when none was asked for

	current string // the installed binary's version as it reports it; not always a release ("dev")
	exe     string // the installed binary
	method  Method
	// fromRepo: apt or dnf has cco's repository (Detector.FromRepository).
	fromRepo bool
	repo     string // owner/name, for messages
	goos     string
	goarch   string // also the architecture in a package manager's file names (Detector.Hint)

	// What the search found; found is false when no release had an
	// archive for the platform.
	found      bool
	latest     string // the release's version, as its tag says
	asset      string // its archive's name
	releaseURL string
}

// decide says what an update would do in situation s: it is the whole of
// Check's judgement (newer, older or equal, development builds, --force,
// installs a package manager owns, and the sentence that says so) with no
// I/O. A nil Plan comes only with an error about the release itself.
func decide(s situation) (*Plan, error) {
	plan := &Plan{
		Current:    s.current,
		Channel:    s.req.Channel,
		Method:     s.method,
		Executable: s.exe,
	}
	suffix, _ := platformSuffix(s.goos, s.goarch) // Check has refused a platform without one
	archive := strings.TrimPrefix(suffix, "-")
	where := fmt.Sprintf("the %s channel", s.req.Channel)
	if s.req.Version != "" {
		where = "release v" + s.want.String()
	}
	if !s.found {
		plan.Action = fmt.Sprintf("nothing: no %s archive in %s of %s", archive, where, s.repo)
		if s.req.Version != "" {
			return plan, fmt.Errorf("no release v%s of %s with a %s archive", s.want, s.repo, archive)
		}
		return plan, nil
	}
	latest, err := version.Parse(s.latest)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", s.latest, err)
	}
	if wantName, _ := AssetName(latest.String(), s.goos, s.goarch); s.asset != wantName {
		return nil, fmt.Errorf("release v%s: archive %q is not named %q as releases are", latest, s.asset, wantName)
	}
	plan.Latest = latest.String()
	plan.Asset = s.asset
	plan.ReleaseURL = s.releaseURL

	cur, curErr := version.Parse(s.current)
	switch {
	case curErr != nil && !s.req.Force:
		plan.Action = fmt.Sprintf("nothing: this cco is a development build (%s); --force replaces it with %s", s.current, latest)
		return plan, nil
	case curErr == nil && cur.Compare(latest) == 0 && !s.req.Force:
		plan.Action = fmt.Sprintf("nothing: cco %s is the newest in %s", cur, where)
		return plan, nil
	case curErr == nil && cur.Compare(latest) > 0:
		plan.Downgrade = true
		if !s.req.Force {
			plan.Action = fmt.Sprintf("nothing: cco %s is newer than %s, the newest in %s (--force would downgrade)", cur, latest, where)
			return plan, nil
		}
	}
	plan.Available = true
	if s.method.Managed() {
		plan.Command = hint(s.method, latest.String(), s.goarch, s.fromRepo)
		plan.Action = fmt.Sprintf("nothing here: cco was installed with %s; run: %s", s.method.describe(), plan.Command)
		return plan, nil
	}
	verb := "replace"
	if plan.Downgrade {
		verb = "downgrade"
	}
	plan.Action = fmt.Sprintf("%s %s (%s) with %s from %s, after checking it against %s and its signature",
		verb, s.exe, s.current, latest, s.asset, ChecksumsName)
	return plan, nil
}

// platformSuffix is what follows the version in a platform's archive name,
// "-linux-x86_64.tar.gz"; an error when releases have no build for it.
func platformSuffix(goos, goarch string) (string, error) {
	name, err := AssetName("VERSION", goos, goarch)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(name, "cco-vVERSION"), nil
}
