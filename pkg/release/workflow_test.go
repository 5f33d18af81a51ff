package release

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflowStep is what the order check reads of a step.
type workflowStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
}

// publishOrder checks that nothing leaves the draft before what was built
// is verified: GoReleaser (into a draft), then the package repositories
// made (not pushed), then every pkg/release test over dist/ and them, then
// the provenance attestation, then the release published, then the
// repositories pushed, then the tap and bucket. It returns what is out of
// place.
func publishOrder(steps []workflowStep) error {
	find := func(what string, match func(workflowStep) bool) (int, error) {
		i := slices.IndexFunc(steps, match)
		if i < 0 {
			return 0, fmt.Errorf("no step %s", what)
		}
		return i, nil
	}
	stages := []struct {
		what  string
		match func(workflowStep) bool
	}{
		{"runs GoReleaser", func(s workflowStep) bool { return strings.Contains(s.Run, "goreleaser release") }},
		{"makes the package repositories", func(s workflowStep) bool { return strings.Contains(s.Run, ".ci/repos build") }},
		{"runs the pkg/release tests over dist/ unfiltered", func(s workflowStep) bool {
			return strings.Contains(s.Run, "go test") && strings.Contains(s.Run, "./pkg/release/") && !strings.Contains(s.Run, "-run")
		}},
		{"attests build provenance", func(s workflowStep) bool { return strings.HasPrefix(s.Uses, "actions/attest-build-provenance@") }},
		{"publishes the draft", func(s workflowStep) bool { return strings.Contains(s.Run, "--draft=false") }},
		{"publishes the package repositories", func(s workflowStep) bool { return strings.Contains(s.Run, ".ci/repos push") }},
		{"publishes the formula and manifest", func(s workflowStep) bool { return strings.Contains(s.Run, ".ci/publish ") }},
	}
	last, lastWhat := -1, ""
	for _, st := range stages {
		i, err := find(st.what, st.match)
		if err != nil {
			return err
		}
		if i <= last {
			return fmt.Errorf("the step that %s (%q) does not come after the one that %s", st.what, steps[i].Name, lastWhat)
		}
		last, lastWhat = i, st.what
	}
	return nil
}

// The release workflow publishes nothing before it has verified what was
// built: GoReleaser makes a draft, and the release, the tap and the bucket
// go public only after the tests over dist/ and the attestation.
func TestReleaseWorkflowPublishesLast(t *testing.T) {
	repo := filepath.Join("..", "..")
	var wf struct {
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			Steps []workflowStep `yaml:"steps"`
		} `yaml:"jobs"`
	}
	readYAML(t, filepath.Join(repo, ".github", "workflows", "release.yml"), &wf)
	job, ok := wf.Jobs["release"]
	if !ok {
		t.Fatal("release.yml has no job named release")
	}
	if err := publishOrder(job.Steps); err != nil {
		t.Error(err)
	}
	// The tests install from the repositories that will be pushed, not
	// only from ones they make themselves.
	for _, s := range job.Steps {
		if strings.Contains(s.Run, "./pkg/release/") && (s.Env["CCO_REPO_SITE"] == "" || !strings.Contains(s.Run, "CCO_REPO_SITE")) {
			t.Errorf("the step %q does not give the tests the built repositories (CCO_REPO_SITE, kept through sudo)", s.Name)
		}
	}
	for perm, want := range map[string]string{"contents": "write", "id-token": "write", "attestations": "write"} {
		if got := wf.Permissions[perm]; got != want {
			t.Errorf("release.yml permissions: %s is %q, want %q", perm, got, want)
		}
	}

	var gr struct {
		Release struct {
			Draft bool `yaml:"draft"`
		} `yaml:"release"`
	}
	readYAML(t, filepath.Join(repo, ".goreleaser.yaml"), &gr)
	if !gr.Release.Draft {
		t.Error(".goreleaser.yaml: release.draft is not true, so GoReleaser publishes before the workflow verifies")
	}

	// The check can fail: publishing before verifying is caught.
	moved := slices.Clone(job.Steps)
	verify := slices.IndexFunc(moved, func(s workflowStep) bool { return strings.Contains(s.Run, "./pkg/release/") })
	publish := slices.IndexFunc(moved, func(s workflowStep) bool { return strings.Contains(s.Run, "--draft=false") })
	if verify >= 0 && publish >= 0 {
		moved[verify], moved[publish] = moved[publish], moved[verify]
		if publishOrder(moved) == nil {
			t.Error("publishOrder accepted a workflow that publishes before it verifies")
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
