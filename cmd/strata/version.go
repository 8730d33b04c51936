package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildVersion is what the Go toolchain stamped into the binary: the main
// module's version and the VCS state it was built from. `go build` in a
// checkout stamps the revision; `go install module@version` the version.
type buildVersion struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"goVersion"`
}

// versionOf reads the build information; a binary without any (built
// without module support) says so rather than inventing a version.
func versionOf(info *debug.BuildInfo, ok bool) buildVersion {
	if !ok {
		return buildVersion{Version: "unknown"}
	}
	v := buildVersion{Version: info.Main.Version, GoVersion: info.GoVersion}
	if v.Version == "" {
		v.Version = "unknown"
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v buildVersion) String() string {
	s := "strata " + v.Version
	if v.Revision != "" {
		s += ", commit " + v.Revision
		if v.Time != "" {
			s += " (" + v.Time + ")"
		}
		if v.Modified {
			s += ", with uncommitted changes"
		}
	}
	if v.GoVersion != "" {
		s += ", built with " + v.GoVersion
	}
	return s
}

func newVersionCommand(stdout, _ io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "the module version and VCS revision strata was built from",
		Args:  cobra.NoArgs,
	}
	output := outputFlag(cmd, versionOutputs)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := output.check(cmd); err != nil {
			return err
		}
		v := versionOf(debug.ReadBuildInfo())
		if output.value == "json" {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		_, err := fmt.Fprintln(stdout, v)
		return err
	}
	return cmd
}
