package recipe

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/goccy/go-yaml/ast"
	"github.com/lathe-ml/lathe/pkg/results"
)

// Kind is a kind of stage: what a recipe may write under its name. Each kind
// is declared once, in its own file, and registered with Register.
type Kind struct {
	Name string
	Keys []string // the keys its mapping accepts
	// HasSteps says the stage trains: its progress is counted in steps,
	// which consumers (summary, dashboard, report) chart and time.
	HasSteps bool
	// Effects are what the stage leaves for the stages after it; the
	// runner restores them on resume (see Effects).
	Effects Effects
	// Results declares what the stage records and how consumers show it
	// (package results): the runner refuses an undeclared result.
	Results results.Declaration
	// New returns the stage's settings at their defaults, before its keys
	// are applied.
	New func() Settings
}

// Settings are one stage's values, decoded key by key with positions.
type Settings interface {
	// Set applies one key of the stage's mapping (only Kind.Keys reach it).
	Set(d *Decoder, f Field) error
	// Check runs once every key is applied, for the stage and again for
	// each variant of it: cross-key rules, and rules against the rest of the
	// recipe. at is the stage's node, for errors.
	Check(d *Decoder, at Node, rec *Recipe) error
	// PlannedSteps is how many steps the stage will take when one epoch of
	// the training split is perEpoch steps; 0 for a stage without steps.
	PlannedSteps(perEpoch int) int
}

// ModelWriter is implemented by settings of kinds that write model files
// into the run's folder (export, quantize): a later stage that reads
// them (report) checks the names it is given against the stages before
// it, so a misspelt name fails before any training.
type ModelWriter interface {
	// ModelFiles are the base names (without .safetensors) of the
	// Lathe model files the stage writes.
	ModelFiles() []string
}

// StepCapper is implemented by settings of kinds with steps that can be
// cut short (a notebook's fast mode): CapSteps returns a copy that takes
// at most n steps.
type StepCapper interface {
	CapSteps(n int) Settings
}

// String describes the stage in a few words ("train 2 epochs with adam
// (lr 0.001, constant schedule)"): its settings' String when they have one,
// else its kind.
func (s Stage) String() string {
	if d, ok := s.Settings.(fmt.Stringer); ok {
		return d.String()
	}
	return s.Kind
}

var registry = struct {
	sync.RWMutex
	kinds map[string]Kind
}{kinds: map[string]Kind{}}

// Register adds a stage kind. It panics on a duplicate or incomplete kind,
// as registering one is a program's set-up, not a user's input.
func Register(k Kind) {
	if k.Name == "" || k.New == nil {
		panic("recipe.Register: a kind needs a name and New")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.kinds[k.Name]; dup {
		panic(fmt.Sprintf("recipe.Register: stage kind %q registered twice", k.Name))
	}
	registry.kinds[k.Name] = k
}

// Declared is the results declaration of the kind of that name: a
// results.Kinds for consumers of the contract.
func Declared(kind string) (results.Declaration, bool) {
	k, ok := LookupKind(kind)
	return k.Results, ok
}

// LookupKind returns the registered kind of that name.
func LookupKind(name string) (Kind, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.kinds[name]
	return k, ok
}

// Kinds lists the registered kinds' names, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.kinds))
	for n := range registry.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Stage is one step of a recipe.
type Stage struct {
	Kind      string
	Line, Col int      // where the stage starts in the file
	Settings  Settings // the kind's settings type
	node      Node
	fields    []Field // as written: variants apply their overrides after them
}

// Node is where the stage's settings are written: the node its Settings'
// Check gets, by which a stage finds itself among the recipe's.
func (s Stage) Node() Node { return s.node }

// Effects are what the stage's kind declares it leaves behind.
func (s Stage) Effects() Effects {
	k, _ := LookupKind(s.Kind)
	return k.Effects
}

// HasSteps reports whether the stage's kind has steps.
func (s Stage) HasSteps() bool {
	k, _ := LookupKind(s.Kind)
	return k.HasSteps
}

func (s *Stage) check(d *Decoder, rec *Recipe) error {
	return s.Settings.Check(d, s.node, rec)
}

// decode builds the stage's settings from its fields and then extra ones.
func (s *Stage) decode(d *Decoder, kind Kind, extra []Field) error {
	s.Settings = kind.New()
	for _, f := range append(slices.Clone(s.fields), extra...) {
		if err := s.Settings.Set(d, f); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) stages(n Node) ([]Stage, error) {
	items, err := d.List(n, "stages")
	if err != nil {
		return nil, err
	}
	kinds := Kinds()
	if len(items) == 0 {
		return nil, d.Errorf(n, "stages is empty: add at least one of %s", strings.Join(kinds, ", "))
	}
	var stages []Stage
	for i, item := range items {
		what := fmt.Sprintf("stage %d", i+1)
		var name string
		var body Node
		if s, ok := Unwrap(item).(*ast.StringNode); ok { // "- evaluate" with all defaults
			name = s.Value
		} else {
			fields, ok := stageFields(item)
			if !ok {
				return nil, d.Errorf(item, "%s must be one of %s, with its settings, got %s", what, strings.Join(kinds, ", "), Describe(item))
			}
			if len(fields) != 1 {
				return nil, d.Errorf(item, "%s must have exactly one kind (%s), got %d keys", what, strings.Join(kinds, ", "), len(fields))
			}
			name, body, item = fields[0].Key, fields[0].Value, fields[0].KeyNode
		}
		kind, ok := LookupKind(name)
		if !ok {
			msg := fmt.Sprintf("unknown stage %s", quoted(name))
			if s := suggest(name, kinds); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, d.Errorf(item, "%s; allowed: %s", msg, strings.Join(kinds, ", "))
		}
		st := Stage{Kind: name, node: item}
		if tk := item.GetToken(); tk != nil && tk.Position != nil {
			st.Line, st.Col = tk.Position.Line, tk.Position.Column
		}
		if !IsNull(body) {
			st.node = body // cross-key errors point at the settings
			if st.fields, err = d.Fields(body, name+" stage", kind.Keys); err != nil {
				return nil, err
			}
		}
		if err := st.decode(d, kind, nil); err != nil {
			return nil, err
		}
		stages = append(stages, st)
	}
	return stages, nil
}

// stageFields reads a stage item's mapping without checking its keys
// (its one key is the kind); ok is false when the item is no mapping.
func stageFields(item Node) (fields []Field, ok bool) {
	var values []*ast.MappingValueNode
	switch m := Unwrap(item).(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, false
	}
	for _, mv := range values {
		fields = append(fields, Field{Key: strings.TrimSpace(mv.Key.String()), KeyNode: mv.Key, Value: mv.Value})
	}
	return fields, true
}

// PlannedStage is what one stage will do, as the plan of a run records it.
type PlannedStage struct {
	Index    int
	Kind     string
	HasSteps bool
	Steps    int // 0 for a stage without steps
}

// Plan lists the stages with the steps each plans when one epoch of the
// training split is perEpoch steps.
func (r *Recipe) Plan(perEpoch int) []PlannedStage {
	out := make([]PlannedStage, len(r.Stages))
	for i, st := range r.Stages {
		out[i] = PlannedStage{Index: i, Kind: st.Kind, HasSteps: st.HasSteps(), Steps: st.Settings.PlannedSteps(perEpoch)}
	}
	return out
}
