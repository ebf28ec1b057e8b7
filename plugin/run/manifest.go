package run

import (
	"fmt"
	"sort"

	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// ManifestObjects decodes a rendered manifest (Result.Manifest) into its
// objects, in Helm's order of the documents; empty documents are skipped.
func ManifestObjects(manifest string) ([]map[string]any, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var objs []map[string]any
	for _, k := range keys {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(docs[k]), &obj); err != nil {
			return nil, fmt.Errorf("decode manifest: %w", err)
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
	return objs, nil
}
