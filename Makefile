# Valv — the two set-up commands are `make demo` and `make test` (README).
# Each installs the Debian packages it needs first (scripts/deps).

SHELL := /bin/bash
GO ?= go

# -tags=x11: build GLFW for X11 only (no Wayland headers needed); every go
# command below, staticcheck and `fyne package` read GOFLAGS.
export GOFLAGS := -tags=x11 -buildvcs=false
export LANG := en_US.UTF-8

VERSION := $(shell sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: demo test bench package build deps screenshots clean

## demo: build and start Valv; with no YubiKey present, on a simulated card
demo:
	@scripts/deps demo
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/valv ./cmd/valv
	./bin/valv --demo-if-no-card

## test: format, vet, staticcheck, race tests, the real PC/SC stack, a real window
test:
	@scripts/deps test
	VALV_REQUIRE_CARD=1 VALV_REQUIRE_TOOLS=1 VALV_REQUIRE_DISPLAY=1 scripts/test

## bench: benchmarks, with the age CLI measured in the same run where relevant
bench:
	@scripts/deps test
	scripts/bench

## package: dist/Valv.tar.xz with the binary, a .desktop file and the icon
package:
	@scripts/deps package
	scripts/package

## screenshots: docs/screenshots/*.png, every screen in English and Swedish,
## drawn headless (no display) from the screens table in ui/screens_test.go
screenshots:
	@scripts/deps build
	rm -f docs/screenshots/*.png
	VALV_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestScreenshots$$' ./ui/
	@ls docs/screenshots

build:
	@scripts/deps build
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/valv ./cmd/valv
	$(GO) build -o bin/yubisim ./cmd/yubisim

clean:
	rm -rf bin dist test-output
