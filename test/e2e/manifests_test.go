//go:build e2e

package e2e

import (
	"fmt"
	"strings"
)

// kinds are the pod-bearing kinds the suite applies with kubectl.
var kinds = []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

func podYAML(name, image string, pullSecrets ...string) string {
	return manifest("Pod", name, image, pullSecrets...)
}

// manifest returns a minimal object of kind whose one container runs image.
func manifest(kind, name, image string, pullSecrets ...string) string {
	spec := fmt.Sprintf("containers:\n- name: app\n  image: %s\n", image)
	if len(pullSecrets) > 0 {
		spec += "imagePullSecrets:\n"
		for _, s := range pullSecrets {
			spec += "- name: " + s + "\n"
		}
	}
	template := func(indent int, restart string) string {
		pod := spec
		if restart != "" {
			pod += "restartPolicy: " + restart + "\n"
		}
		t := fmt.Sprintf("metadata:\n  labels:\n    app: %s\nspec:\n%s", name, indentBy(2, pod))
		return indentBy(indent, t)
	}
	selector := fmt.Sprintf("  selector:\n    matchLabels:\n      app: %s\n", name)
	head := func(apiVersion string) string {
		return fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n", apiVersion, kind, name)
	}
	switch kind {
	case "Pod":
		return head("v1") + "spec:\n" + indentBy(2, spec)
	case "Deployment", "DaemonSet":
		return head("apps/v1") + "spec:\n" + selector + "  template:\n" + template(4, "")
	case "StatefulSet":
		return head("apps/v1") + "spec:\n  serviceName: " + name + "\n" + selector + "  template:\n" + template(4, "")
	case "Job":
		return head("batch/v1") + "spec:\n  template:\n" + template(4, "Never")
	case "CronJob":
		return head("batch/v1") + "spec:\n  schedule: \"0 0 * * *\"\n  jobTemplate:\n    spec:\n      template:\n" + template(8, "Never")
	}
	panic("no manifest for kind " + kind)
}

func indentBy(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n") + "\n"
}
