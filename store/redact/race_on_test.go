//go:build race

package redact

// raceEnabled: the race detector slows PDFium's WebAssembly compile about
// fourteenfold (5 s → 70 s), so the PDF test runs without it; scripts/test
// runs it in a separate step.
const raceEnabled = true
