package assets

import (
	"context"
	"io"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// ReadReady returns the bytes of one of the player's ready assets of the
// given kind, for the features that consume uploads (card and export
// imports, a card's portrait). Anything else — another player's asset, a
// pending upload, another kind — is invalid_request naming field, without
// revealing whether the asset exists.
func (s *Service) ReadReady(ctx context.Context, playerID, id uuid.UUID, kind, field string) ([]byte, string, error) {
	a, err := s.store.get(ctx, playerID, id)
	if apperr.Is(err, apperr.NotFound) {
		return nil, "", apperr.Invalidf(field, "is not one of your assets")
	}
	if err != nil {
		return nil, "", err
	}
	switch {
	case a.Kind != kind:
		return nil, "", apperr.Invalidf(field, "must be an asset of kind %s, not %s", kind, a.Kind)
	case a.Status != StatusReady:
		return nil, "", apperr.Invalidf(field, "the upload is not complete")
	}
	etag := ""
	if a.ETag != nil {
		etag = *a.ETag
	}
	r, err := s.objects.Open(ctx, a.Key, etag)
	if err != nil {
		return nil, "", readError(err)
	}
	defer r.Close()
	// The size was checked when the upload completed; never read past it.
	b, err := io.ReadAll(io.LimitReader(r, a.Size))
	if err != nil {
		return nil, "", readError(err)
	}
	return b, a.ContentType, nil
}
