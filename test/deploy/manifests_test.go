package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/visorng/visor/agent/config"
)

// captureCaps are the only capabilities the agent needs, everywhere.
var captureCaps = []string{"BPF", "NET_ADMIN", "NET_RAW", "PERFMON"}

func requireHelm(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("helm")
	if err != nil {
		t.Skip("helm not installed (GOBIN=/usr/local/bin go install helm.sh/helm/v3/cmd/helm@v3.17.3)")
	}
	return bin
}

func helmTemplate(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := requireHelm(t)
	all := append([]string{"template", "pktvisor", deployPath(t, "kubernetes/helm/pktvisor"), "--namespace", "pktvisor"}, args...)
	out, err := exec.Command(bin, all...).Output()
	if err != nil {
		t.Fatalf("helm %v: %v", all, err)
	}
	return out
}

func TestHelmLint(t *testing.T) {
	bin := requireHelm(t)
	out, err := exec.Command(bin, "lint", "--strict", deployPath(t, "kubernetes/helm/pktvisor")).CombinedOutput()
	// --strict turns the "icon is recommended" INFO into nothing; only
	// warnings and errors fail.
	if err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

// The plain manifest is the chart rendered with default values, so the
// two cannot drift apart.
func TestRenderedManifestIsCurrent(t *testing.T) {
	rendered := helmTemplate(t)
	committed, err := os.ReadFile(deployPath(t, "kubernetes/pktvisord-daemonset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Drop the comment header.
	i := bytes.Index(committed, []byte("---"))
	if i < 0 || !bytes.Equal(committed[i:], rendered) {
		t.Fatal("deploy/kubernetes/pktvisord-daemonset.yaml differs from helm template; re-render it (see its header)")
	}
}

type k8sObject struct {
	Kind     string         `yaml:"kind"`
	Metadata map[string]any `yaml:"metadata"`
	Data     map[string]string
	Spec     struct {
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				HostNetwork bool             `yaml:"hostNetwork"`
				Tolerations []map[string]any `yaml:"tolerations"`
				Containers  []struct {
					Args            []string `yaml:"args"`
					SecurityContext struct {
						Privileged               *bool `yaml:"privileged"`
						AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
						RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
						RunAsUser                *int  `yaml:"runAsUser"`
						Capabilities             struct {
							Add  []string `yaml:"add"`
							Drop []string `yaml:"drop"`
						} `yaml:"capabilities"`
					} `yaml:"securityContext"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string         `yaml:"name"`
					ConfigMap map[string]any `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func decodeAll(t *testing.T, b []byte) map[string]k8sObject {
	t.Helper()
	out := map[string]k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if err != nil {
			if err.Error() == "EOF" {
				return out
			}
			t.Fatalf("decode manifests: %v", err)
		}
		if o.Kind != "" {
			out[o.Kind] = o
		}
	}
}

func checkDaemonSet(t *testing.T, objs map[string]k8sObject, wantCaps []string) {
	t.Helper()
	ds, ok := objs["DaemonSet"]
	if !ok {
		t.Fatal("no DaemonSet")
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostNetwork {
		t.Error("hostNetwork is off: the agent would see only its pod's veth")
	}
	if len(pod.Tolerations) == 0 {
		t.Error("no tolerations: tainted nodes would go unobserved")
	}
	a := ds.Spec.Template.Metadata.Annotations
	if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != "10853" || a["prometheus.io/path"] == "" {
		t.Errorf("scrape annotations %v", a)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc.Privileged == nil || *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container may be privileged or escalate")
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Error("container may run as root")
	}
	add := slices.Sorted(slices.Values(sc.Capabilities.Add))
	if !slices.Equal(add, wantCaps) || !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("capabilities add %v drop %v, want add %v drop [ALL]", add, sc.Capabilities.Drop, wantCaps)
	}
	if !slices.Contains(c.Args, "--config") {
		t.Errorf("args %v", c.Args)
	}
	var fromCM bool
	for _, v := range pod.Volumes {
		if v.Name == "config" && v.ConfigMap != nil {
			fromCM = true
		}
	}
	if !fromCM {
		t.Error("config does not come from the ConfigMap")
	}
	// The ConfigMap holds a document the agent's own parser accepts.
	cm, ok := objs["ConfigMap"]
	if !ok {
		t.Fatal("no ConfigMap")
	}
	doc, err := config.Parse([]byte(cm.Data["pktvisord.yaml"]))
	if err != nil {
		t.Fatalf("ConfigMap pktvisord.yaml: %v\n%s", err, cm.Data["pktvisord.yaml"])
	}
	if len(doc.Taps) != 1 || len(doc.Policies) != 1 {
		t.Errorf("config: %d taps, %d policies", len(doc.Taps), len(doc.Policies))
	}
}

func TestHelmDaemonSet(t *testing.T) {
	checkDaemonSet(t, decodeAll(t, helmTemplate(t)), captureCaps)
	// Old kernels: the one extra capability is a values change.
	objs := decodeAll(t, helmTemplate(t, "--set", "capabilities={NET_RAW,NET_ADMIN,BPF,PERFMON,SYS_RESOURCE}",
		"--set", "prometheus.scrape=true", "--set", "extraArgs={--remote-write,http://mimir:8080/api/v1/push}"))
	checkDaemonSet(t, objs, append(slices.Clone(captureCaps), "SYS_RESOURCE"))
	args := objs["DaemonSet"].Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--remote-write") {
		t.Errorf("extraArgs not passed: %v", args)
	}
}

// Without helm the committed rendering is still checked.
func TestCommittedDaemonSet(t *testing.T) {
	b, err := os.ReadFile(deployPath(t, "kubernetes/pktvisord-daemonset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checkDaemonSet(t, decodeAll(t, b), captureCaps)
}

func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile(deployPath(t, "systemd/pktvisord.service"))
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "[") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("bad line %q", l)
		}
		kv[k] = v
	}
	want := "CAP_BPF CAP_NET_ADMIN CAP_NET_RAW CAP_PERFMON"
	for _, k := range []string{"AmbientCapabilities", "CapabilityBoundingSet"} {
		f := strings.Fields(kv[k])
		slices.Sort(f)
		if strings.Join(f, " ") != want {
			t.Errorf("%s=%s, want exactly %s", k, kv[k], want)
		}
	}
	if u := kv["User"]; u == "" || u == "root" || u == "0" {
		t.Errorf("User=%q", u)
	}
	for k, v := range map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
		"PrivateTmp": "yes", "ProtectKernelModules": "yes", "RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes"} {
		if kv[k] != v {
			t.Errorf("%s=%q, want %q", k, kv[k], v)
		}
	}
	if !strings.Contains(kv["RestrictAddressFamilies"], "AF_PACKET") || !strings.Contains(kv["SystemCallFilter"], "bpf") {
		t.Error("the capture paths' address family or syscall is filtered out")
	}
	// The config the unit points at is a document the agent accepts.
	cfg, err := os.ReadFile(deployPath(t, "systemd/pktvisord.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse(cfg); err != nil {
		t.Fatalf("pktvisord.yaml: %v", err)
	}
	// systemd's own verifier, with ExecStart pointing at a built agent.
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	unit := strings.Replace(string(b), "/usr/bin/pktvisord", pktvisord(t), 1)
	p := writeFile(t, dir, "pktvisord.service", unit)
	out, err := exec.Command(sa, "verify", "--man=no", p).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestDockerfile(t *testing.T) {
	p := deployPath(t, "container/Dockerfile")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if bin, err := exec.LookPath("hadolint"); err == nil {
		if out, err := exec.Command(bin, p).CombinedOutput(); err != nil {
			t.Errorf("hadolint: %v\n%s", err, out)
		}
	}
	var froms, users []string
	var entry string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, l)
		case "USER":
			users = append(users, f[1])
		case "ENTRYPOINT":
			entry = strings.TrimSpace(strings.TrimPrefix(l, f[0]))
		}
	}
	if len(froms) < 2 || !strings.Contains(froms[0], " AS ") {
		t.Errorf("not multi-stage: %v", froms)
	}
	if last := froms[len(froms)-1]; !strings.Contains(last, "distroless/static") && !strings.Contains(last, "scratch") {
		t.Errorf("final stage %q is not a static-only base", last)
	}
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "0") || users[len(users)-1] == "root" {
		t.Errorf("final USER %v", users)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Error("binaries are not built static")
	}
	var argv []string
	if err := json.Unmarshal([]byte(entry), &argv); err != nil || argv[0] != "/usr/local/bin/pktvisord" {
		t.Errorf("ENTRYPOINT %q is not exec form of pktvisord", entry)
	}
	// Every COPY source exists in the repository.
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] != "COPY" || strings.HasPrefix(f[1], "--from") {
			continue
		}
		for _, src := range f[1 : len(f)-1] {
			if _, err := os.Stat(filepath.Join(repoRoot(t), src)); err != nil {
				t.Errorf("COPY %s: %v", src, err)
			}
		}
	}
}

func TestPrometheusConfigs(t *testing.T) {
	for _, f := range []string{"prometheus/prometheus.yml", "prometheus/remote-write-receiver.yml"} {
		p := deployPath(t, f)
		if bin, err := exec.LookPath("promtool"); err == nil {
			if out, err := exec.Command(bin, "check", "config", p).CombinedOutput(); err != nil {
				t.Errorf("promtool check config %s: %v\n%s", f, err, out)
			}
		} else {
			t.Log("promtool not installed; YAML checked only")
		}
	}
	// Debian's Prometheus lacks Kubernetes discovery, so that job is kept
	// apart and checked for the annotations the chart sets.
	b, err := os.ReadFile(deployPath(t, "prometheus/kubernetes-scrape.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		ScrapeConfigs []map[string]any `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil || len(k.ScrapeConfigs) != 1 {
		t.Fatalf("kubernetes-scrape.yml: %v", err)
	}
	for _, a := range []string{"prometheus_io_scrape", "prometheus_io_path", "prometheus_io_port", "pod_node_name"} {
		if !strings.Contains(string(b), a) {
			t.Errorf("kubernetes job does not use %s", a)
		}
	}
}

// Telegraf's JSON parser flattens nested keys with "_"; the example relies
// on that to find period_start_ts in the agent's real legacy bucket.
func TestTelegrafExample(t *testing.T) {
	b, err := os.ReadFile(deployPath(t, "telegraf/telegraf.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for _, want := range []string{`/api/v1/metrics/bucket/1"`, `json_query = "1m"`, `json_time_key = "period_start_ts"`, `json_time_format = "unix"`} {
		if !strings.Contains(conf, want) {
			t.Errorf("telegraf.conf lacks %s", want)
		}
	}
	base := sampleAgent(t)
	var doc map[string]any
	if err := json.Unmarshal([]byte(httpGet(t, base+"/api/v1/metrics/bucket/1")), &doc); err != nil {
		t.Fatal(err)
	}
	flat := map[string]any{}
	flatten("", doc["1m"], flat)
	ts, ok := flat["period_start_ts"].(float64)
	if !ok || ts < 1e9 {
		t.Fatalf("flattened bucket has no unix period_start_ts: %v", flat["period_start_ts"])
	}
	if _, ok := flat["packets_total"]; !ok {
		t.Error("flattened bucket has no packets_total field")
	}
}

func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = v
		return
	}
	for k, e := range m {
		key := k
		if prefix != "" {
			key = prefix + "_" + k
		}
		flatten(key, e, out)
	}
}
