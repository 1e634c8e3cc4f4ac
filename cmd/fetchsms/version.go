package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
)

// version is the release, set when building one:
//
//	go build -ldflags "-X main.version=v1.4.0" -o bin/fetchsms ./cmd/fetchsms
//
// Without it the version comes from the build information: the module's
// version when built by `go install …@version`, else "devel".
var version = ""

// buildVersion returns the version of this binary.
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// versionLine is what `fetchsms version` prints: the version, and the commit and
// Go release the binary was built from when the build information has them.
func versionLine() string {
	line := "fetchsms " + buildVersion()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return line
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value[:min(len(s.Value), 12)]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	if rev != "" {
		line += " (commit " + rev + dirty + ")"
	}
	return line + " " + bi.GoVersion
}

func versionCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	commandUsage(fs, "version   the version of this binary")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionLine())
	return nil
}
