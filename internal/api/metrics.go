package api

import "net/http"

// metricsHandler is what GET /metrics serves: Options.Metrics, or a 404
// saying this server exports none.
func (s *Server) metricsHandler() http.Handler {
	if s.opts.Metrics != nil {
		return s.opts.Metrics
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problem(http.StatusNotFound, TypeNotFound, "No metrics",
			"this server exports no metrics (api.Options.Metrics is not set)"))
	})
}
