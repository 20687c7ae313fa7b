package game

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

func TestCharacterPatchPortraitTellsAbsentNullAndIDApart(t *testing.T) {
	id := uuid.MustParse("0190a3c4-0000-7000-8000-00000000000a")
	for _, tc := range []struct {
		name string
		body string
		want OptionalID
	}{
		{"absent leaves the portrait alone", `{"name":"x"}`, OptionalID{}},
		{"null clears it", `{"portrait_asset_id":null}`, OptionalID{Set: true}},
		{"a UUID sets it", `{"portrait_asset_id":"` + id.String() + `"}`, OptionalID{Set: true, ID: &id}},
		{"a number is reported, not decoded", `{"portrait_asset_id":7}`, OptionalID{Set: true, bad: true}},
		{"a non-UUID string is reported", `{"portrait_asset_id":"../etc"}`, OptionalID{Set: true, bad: true}},
		{"a UUID without dashes is reported", `{"portrait_asset_id":"0190a3c400007000800000000000000a"}`, OptionalID{Set: true, bad: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p CharacterPatch
			require.NoError(t, json.Unmarshal([]byte(tc.body), &p))
			require.Equal(t, tc.want, p.PortraitAssetID)
		})
	}
}

type portraitsFunc func(ctx context.Context, playerID, assetID uuid.UUID) error

func (f portraitsFunc) CheckPortrait(ctx context.Context, playerID, assetID uuid.UUID) error {
	return f(ctx, playerID, assetID)
}

func TestSetPortrait(t *testing.T) {
	owner, asset := uuid.New(), uuid.New()
	ok := portraitsFunc(func(_ context.Context, p, a uuid.UUID) error {
		if p == owner && a == asset {
			return nil
		}
		return apperr.Invalidf("portrait_asset_id", "is not one of your assets")
	})
	t.Run("a ready portrait of the player's is set", func(t *testing.T) {
		s := &Service{portraits: ok}
		c := Character{PlayerID: owner}
		require.NoError(t, s.setPortrait(context.Background(), &c, OptionalID{Set: true, ID: &asset}))
		require.Equal(t, asset, *c.PortraitAssetID)
	})
	t.Run("null clears the portrait", func(t *testing.T) {
		s := &Service{portraits: ok}
		c := Character{PlayerID: owner, PortraitAssetID: &asset}
		require.NoError(t, s.setPortrait(context.Background(), &c, OptionalID{Set: true}))
		require.Nil(t, c.PortraitAssetID)
	})
	t.Run("someone else's asset is refused", func(t *testing.T) {
		s := &Service{portraits: ok}
		c := Character{PlayerID: uuid.New()}
		err := s.setPortrait(context.Background(), &c, OptionalID{Set: true, ID: &asset})
		require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
		require.Nil(t, c.PortraitAssetID)
	})
	t.Run("a malformed id is refused naming the field", func(t *testing.T) {
		s := &Service{portraits: ok}
		err := s.setPortrait(context.Background(), &Character{}, OptionalID{Set: true, bad: true})
		require.Equal(t, apperr.Invalid, apperr.CodeOf(err))
		require.Contains(t, err.Error(), "portrait_asset_id")
	})
	t.Run("without an assets service portraits are unavailable", func(t *testing.T) {
		err := (&Service{}).setPortrait(context.Background(), &Character{}, OptionalID{Set: true, ID: &asset})
		require.Equal(t, apperr.Unavailable, apperr.CodeOf(err))
	})
}
