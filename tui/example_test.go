package tui_test

import (
	"log"
	"time"

	"github.com/lathe-ml/lathe/tui"
)

// The dashboard of the store in ./runs, read every half second; it returns
// when the user presses q or ctrl+c.
func Example() {
	if err := tui.Run(tui.Options{Dir: "runs", Refresh: 500 * time.Millisecond}); err != nil {
		log.Fatal(err)
	}
}
