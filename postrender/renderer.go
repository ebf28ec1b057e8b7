package postrender

import (
	"bytes"

	helmpostrender "helm.sh/helm/v3/pkg/postrender"
)

// Renderer runs Process in-process as a Helm v3 post-renderer
// (action.Install.PostRenderer, action.Upgrade.PostRenderer). Helm v4's
// postrenderer.PostRenderer has the same method, so it serves there too.
type Renderer struct{ Options Options }

var _ helmpostrender.PostRenderer = Renderer{}

// Run implements helm.sh/helm/v3/pkg/postrender.PostRenderer. A nil input is
// treated as empty.
func (r Renderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	var b []byte
	if in != nil {
		b = in.Bytes()
	}
	out, err := Process(b, r.Options)
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}
