package infer

import "strings"

// Ext ends the name of a Lathe model file (safetensors with the graph in
// its metadata).
const Ext = ".safetensors"

// Float32TwinSuffix ends the name of the float model a quantize stage
// writes beside its int8 file: <x>.f32.safetensors beside <x>.safetensors.
// `lathe bench infer` and the report find an int8 file's twin by it.
const Float32TwinSuffix = ".f32" + Ext

// FileName is the name of the model file of that base name ("model" →
// "model.safetensors").
func FileName(base string) string { return base + Ext }

// TwinName is the name of the float twin of the int8 model file of that
// base name ("model.int8" → "model.int8.f32.safetensors").
func TwinName(base string) string { return base + Float32TwinSuffix }

// IsTwin says a file name is a float twin's.
func IsTwin(name string) bool { return strings.HasSuffix(name, Float32TwinSuffix) }
