package manifest

import (
	"testing"
)

// listOfTwoDeployments is what kubectl get deploy -o yaml prints: a List
// whose items run the same container name and image; the second's image is
// on line 22, the first's on line 11.
const listOfTwoDeployments = `apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: one, namespace: shop}
  spec:
    template:
      spec:
        containers:
        - name: app
          image: nginx:1
          securityContext: {runAsNonRoot: true}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: two, namespace: shop}
  spec:
    template:
      spec:
        containers:
        - name: app
          image: nginx:1
`

// A finding about the second item's container must not point at the first
// item's image line (SARIF annotates the wrong object in review).
func TestListItemsSharingAContainerDoNotPointAtEachOthersImageLine(t *testing.T) {
	ms, _, err := readStdin(listOfTwoDeployments)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("read %d objects, want 2", len(ms))
	}
	for _, m := range ms {
		line, ok := m.ImageLines[ImageKey("app", "nginx:1")]
		want := map[string]int{"one": 12, "two": 22}[m.Workload.Name]
		if ok && line != want {
			t.Errorf("%s: container app's image is on line %d, ImageLines says %d", m.Workload.Name, want, line)
		}
	}
}

// A mapping holding a name and an image outside the containers (an
// annotation-like field the API server drops) must not take the finding's
// line away from the container's own image, nor, when the container's image
// is written as an alias of the decoy's value, leave the decoy's line as the
// only one found.
func TestDecoyOutsideTheContainersDoesNotMoveTheImageLine(t *testing.T) {
	for _, tc := range []struct{ name, decoyImage, containerImage string }{
		{"DecoyNameAndImage", "evil:1", "evil:1"},
		{"DecoyAnchorOfAnAliasedImage", "&img evil:1", "*img"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, _, err := readStdin(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  x-decoy:
    name: app
    image: ` + tc.decoyImage + `
  template:
    spec:
      containers:
      - name: app
        image: ` + tc.containerImage + `
`)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 || len(ms[0].Workload.Containers) != 1 || ms[0].Workload.Containers[0].Image != "evil:1" {
				t.Fatalf("read %+v, want one Deployment running evil:1", ms)
			}
			if line, ok := ms[0].ImageLines[ImageKey("app", "evil:1")]; ok && line != 12 {
				t.Errorf("container app's image is on line 12, ImageLines says %d", line)
			}
		})
	}
}
