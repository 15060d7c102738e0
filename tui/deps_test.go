package tui

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDashboardLinksNoGoMLX: the dashboard reads the store and parses
// recipes through GoMLX-free packages only, so it links neither GoMLX nor
// the runner.
func TestDashboardLinksNoGoMLX(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "github.com/gomlx/") || strings.HasSuffix(dep, "/pkg/runner") {
			t.Errorf("the dashboard links %s", dep)
		}
	}
}
