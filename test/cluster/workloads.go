package cluster

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// Workload is a pod-bearing object to create as its controllers would have
// left it: no controller manager runs beside the test API server, so the
// objects a controller would create (a Deployment's ReplicaSet, a CronJob's
// Job, the pods) are created here, with the ownerReferences (controller:
// true) the controllers set.
type Workload struct {
	// Kind is Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
	// ReplicationController or Pod (a bare pod: Pods is ignored).
	Kind      string
	Namespace string
	Name      string
	// Labels are the object's own; PodLabels the pod template's and its
	// pods' (default: app=Name).
	Labels    map[string]string
	PodLabels map[string]string
	// Images are the containers' images, one container each.
	Images []string
	// Pods is how many running pods the controllers would have made.
	Pods int
}

// Created is what CreateWorkload made: the top-level object and how many
// objects in all (the top-level, the intermediate ReplicaSet or Job, pods).
type Created struct {
	UID     string
	Objects int
}

// CreateWorkload creates w, the objects its controllers would have created
// and its pods.
func CreateWorkload(ctx context.Context, c kubernetes.Interface, w Workload) (Created, error) {
	if w.PodLabels == nil {
		w.PodLabels = map[string]string{"app": w.Name}
	}
	meta := metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace, Labels: w.Labels}
	sel := &metav1.LabelSelector{MatchLabels: w.PodLabels}
	tmpl := podTemplate(w, corev1.RestartPolicyAlways)
	var (
		top     metav1.Object
		gvk     schema.GroupVersionKind
		err     error
		objects = 1
	)
	create := func(ctx context.Context) error { return nil }
	switch w.Kind {
	case "Pod":
		p := &corev1.Pod{ObjectMeta: meta, Spec: tmpl.Spec}
		p.Labels = w.Labels
		p, err = c.CoreV1().Pods(w.Namespace).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			return Created{}, fmt.Errorf("creating pod %s/%s: %w", w.Namespace, w.Name, err)
		}
		return Created{UID: string(p.UID), Objects: 1}, nil
	case "Deployment":
		var d *appsv1.Deployment
		d, err = c.AppsV1().Deployments(w.Namespace).Create(ctx, &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		top, gvk = d, appsv1.SchemeGroupVersion.WithKind("Deployment")
		create = func(ctx context.Context) error {
			rs := &appsv1.ReplicaSet{
				ObjectMeta: metav1.ObjectMeta{Name: w.Name + "-5d8f7c", Namespace: w.Namespace, Labels: w.PodLabels, OwnerReferences: []metav1.OwnerReference{controllerRef(top, gvk)}},
				Spec:       appsv1.ReplicaSetSpec{Selector: sel, Template: tmpl},
			}
			rs, err := c.AppsV1().ReplicaSets(w.Namespace).Create(ctx, rs, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			objects++
			return createPods(ctx, c, w, tmpl, controllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet")))
		}
	case "ReplicaSet":
		var rs *appsv1.ReplicaSet
		rs, err = c.AppsV1().ReplicaSets(w.Namespace).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: meta, Spec: appsv1.ReplicaSetSpec{Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		top, gvk = rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	case "StatefulSet":
		var st *appsv1.StatefulSet
		st, err = c.AppsV1().StatefulSets(w.Namespace).Create(ctx, &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		top, gvk = st, appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	case "DaemonSet":
		var ds *appsv1.DaemonSet
		ds, err = c.AppsV1().DaemonSets(w.Namespace).Create(ctx, &appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{Selector: sel, Template: tmpl}}, metav1.CreateOptions{})
		top, gvk = ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet")
	case "ReplicationController":
		var rc *corev1.ReplicationController
		rc, err = c.CoreV1().ReplicationControllers(w.Namespace).Create(ctx, &corev1.ReplicationController{ObjectMeta: meta, Spec: corev1.ReplicationControllerSpec{Selector: w.PodLabels, Template: &tmpl}}, metav1.CreateOptions{})
		top, gvk = rc, corev1.SchemeGroupVersion.WithKind("ReplicationController")
	case "Job":
		var j *batchv1.Job
		jt := podTemplate(w, corev1.RestartPolicyNever)
		j, err = c.BatchV1().Jobs(w.Namespace).Create(ctx, &batchv1.Job{ObjectMeta: meta, Spec: batchv1.JobSpec{Template: jt}}, metav1.CreateOptions{})
		top, gvk, tmpl = j, batchv1.SchemeGroupVersion.WithKind("Job"), jt
	case "CronJob":
		var cj *batchv1.CronJob
		jt := podTemplate(w, corev1.RestartPolicyNever)
		cj, err = c.BatchV1().CronJobs(w.Namespace).Create(ctx, &batchv1.CronJob{ObjectMeta: meta, Spec: batchv1.CronJobSpec{
			Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jt}},
		}}, metav1.CreateOptions{})
		top, gvk = cj, batchv1.SchemeGroupVersion.WithKind("CronJob")
		create = func(ctx context.Context) error {
			j := &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: w.Name + "-29000000", Namespace: w.Namespace, OwnerReferences: []metav1.OwnerReference{controllerRef(top, gvk)}},
				Spec:       batchv1.JobSpec{Template: jt},
			}
			j, err := c.BatchV1().Jobs(w.Namespace).Create(ctx, j, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			objects++
			return createPods(ctx, c, w, jt, controllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job")))
		}
	default:
		return Created{}, fmt.Errorf("cluster.CreateWorkload: kind %q is not one it creates", w.Kind)
	}
	if err != nil {
		return Created{}, fmt.Errorf("creating %s %s/%s: %w", w.Kind, w.Namespace, w.Name, err)
	}
	if w.Kind != "Deployment" && w.Kind != "CronJob" {
		create = func(ctx context.Context) error { return createPods(ctx, c, w, tmpl, controllerRef(top, gvk)) }
	}
	if err := create(ctx); err != nil {
		return Created{}, fmt.Errorf("creating what %s %s/%s owns: %w", w.Kind, w.Namespace, w.Name, err)
	}
	return Created{UID: string(top.GetUID()), Objects: objects + w.Pods}, nil
}

// CreateOwnedPods creates n pods of w's template owned by owner, as a
// controller strata does not list (a custom resource's) would.
func CreateOwnedPods(ctx context.Context, c kubernetes.Interface, w Workload, owner metav1.OwnerReference) error {
	if w.PodLabels == nil {
		w.PodLabels = map[string]string{"app": w.Name}
	}
	return createPods(ctx, c, w, podTemplate(w, corev1.RestartPolicyAlways), owner)
}

func createPods(ctx context.Context, c kubernetes.Interface, w Workload, tmpl corev1.PodTemplateSpec, owner metav1.OwnerReference) error {
	for i := range w.Pods {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%d", w.Name, i), Namespace: w.Namespace, Labels: tmpl.Labels,
				OwnerReferences: []metav1.OwnerReference{owner},
			},
			Spec: tmpl.Spec,
		}
		if _, err := c.CoreV1().Pods(w.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating pod %s/%s: %w", w.Namespace, p.Name, err)
		}
	}
	return nil
}

func podTemplate(w Workload, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	t := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: w.PodLabels}, Spec: corev1.PodSpec{RestartPolicy: restart}}
	for i, img := range w.Images {
		t.Spec.Containers = append(t.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: img})
	}
	return t
}

// controllerRef is the ownerReference a controller sets on what it creates.
func controllerRef(o metav1.Object, gvk schema.GroupVersionKind) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: o.GetName(), UID: o.GetUID(),
		Controller: &yes, BlockOwnerDeletion: &yes,
	}
}
