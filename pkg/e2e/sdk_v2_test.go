package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/visiquate/cco/pkg/ccoproc"
	"github.com/visiquate/cco/pkg/fakeapi"
)

// The official Go SDK, v2 line (authorization: Bearer, anthropic-version
// 2026-10-21), through a real cco process.
func TestGoSDKv2ThroughCCO(t *testing.T) {
	u := fakeapi.NewUpstream(t, fakeapi.Options{})
	// The same request meets several scenarios: the response cache would
	// answer all but the first.
	noCache := []string{"CCO_CACHE_ENABLED=false"}
	cco := ccoproc.StartCCO(t, ccoBin, noCache, "--upstream", u.URL)
	client := anthropic.NewClient(option.WithBaseURL(cco.URL), option.WithAPIKey("sk-ant-api03-e2e-v2"), option.WithMaxRetries(0))
	ctx := context.Background()
	params := anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeHaiku4_5,
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}

	t.Run("non-streaming", func(t *testing.T) {
		u.Reset()
		u.SetScenario(func(*fakeapi.Request) fakeapi.Scenario {
			return fakeapi.Scenario{Usage: fakeapi.Usage{Input: 11, Output: 5, CacheRead: 7}}
		})
		msg, err := client.Messages.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Content) != 1 || msg.Content[0].Text != fakeapi.DefaultText || msg.StopReason != anthropic.StopReasonEndTurn {
			t.Errorf("message %+v", msg)
		}
		if msg.Usage.InputTokens != 11 || msg.Usage.OutputTokens != 5 || msg.Usage.CacheReadInputTokens != 7 {
			t.Errorf("usage %+v", msg.Usage)
		}
		reqs := u.Requests()
		if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer sk-ant-api03-e2e-v2" || reqs[0].Header.Get("X-Api-Key") != "" ||
			reqs[0].Header.Get("Anthropic-Version") != "2026-10-21" {
			t.Errorf("upstream saw %d requests: %v", len(reqs), reqs)
		}
	})

	t.Run("streaming", func(t *testing.T) {
		u.SetScenario(func(*fakeapi.Request) fakeapi.Scenario {
			return fakeapi.Scenario{Text: "streamed through cco", Deltas: 5, Pings: 2, Usage: fakeapi.Usage{Input: 20, Output: 9, CacheWrite5m: 3, CacheWrite1h: 4}}
		})
		stream := client.Messages.NewStreaming(ctx, params)
		var msg anthropic.Message
		for stream.Next() {
			if err := msg.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(msg.Content) != 1 || msg.Content[0].Text != "streamed through cco" || msg.StopReason != anthropic.StopReasonEndTurn {
			t.Errorf("message %+v", msg)
		}
		if msg.Usage.InputTokens != 20 || msg.Usage.OutputTokens != 9 || msg.Usage.CacheCreationInputTokens != 7 {
			t.Errorf("usage %+v", msg.Usage)
		}
	})

	t.Run("tool use", func(t *testing.T) {
		u.SetScenario(func(*fakeapi.Request) fakeapi.Scenario { return fakeapi.Scenario{ToolUse: true, Thinking: true} })
		stream := client.Messages.NewStreaming(ctx, params)
		var msg anthropic.Message
		for stream.Next() {
			if err := msg.Accumulate(stream.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		last := msg.Content[len(msg.Content)-1]
		if msg.StopReason != anthropic.StopReasonToolUse || last.Name != fakeapi.ToolName || string(last.Input) != fakeapi.ToolInput {
			t.Errorf("tool use: stop %s, last block %+v", msg.StopReason, last)
		}
	})

	t.Run("count tokens and models", func(t *testing.T) {
		u.SetScenario(nil)
		u.Reset()
		n, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: anthropic.ModelClaudeHaiku4_5, Messages: params.Messages})
		if err != nil {
			t.Fatal(err)
		}
		if reqs := u.Requests(); len(reqs) != 1 || n.InputTokens != int64(max(len(reqs[0].Body)/4, 1)) {
			t.Errorf("count_tokens %d for %d requests", n.InputTokens, len(reqs))
		}
		page, err := client.Models.List(ctx, anthropic.ModelListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		if strings.Join(ids, ",") != strings.Join(fakeapi.ModelIDs(), ",") {
			t.Errorf("models %v", ids)
		}
	})

	t.Run("upstream errors", func(t *testing.T) {
		for _, status := range []int{400, 401, 403, 404, 413, 429, 500, 529} {
			u.SetScenario(func(*fakeapi.Request) fakeapi.Scenario { return fakeapi.Scenario{Status: status} })
			_, err := client.Messages.New(ctx, params)
			checkV2Error(t, err, status, errorType(status))
			stream := client.Messages.NewStreaming(ctx, params)
			for stream.Next() {
			}
			checkV2Error(t, stream.Err(), status, errorType(status))
		}
	})

	t.Run("mid-stream error", func(t *testing.T) {
		u.SetScenario(func(*fakeapi.Request) fakeapi.Scenario { return fakeapi.Scenario{ErrorAfter: 3} })
		stream := client.Messages.NewStreaming(ctx, params)
		for stream.Next() {
		}
		var apiErr *anthropic.Error
		if !errors.As(stream.Err(), &apiErr) || !strings.Contains(apiErr.Error(), "overloaded_error") {
			t.Errorf("mid-stream error: %v", stream.Err())
		}
	})

	t.Run("errors cco makes", func(t *testing.T) {
		dead := ccoproc.StartCCO(t, ccoBin, noCache, "--upstream", fakeapi.DeadURL(t))
		c := anthropic.NewClient(option.WithBaseURL(dead.URL), option.WithAPIKey("sk-ant-x"), option.WithMaxRetries(0))
		_, err := c.Messages.New(ctx, params)
		checkV2Error(t, err, 502, "api_error")

		small := ccoproc.StartCCO(t, ccoBin, append(noCache, "CCO_MAX_BODY_SIZE=2KiB"), "--upstream", u.URL)
		c = anthropic.NewClient(option.WithBaseURL(small.URL), option.WithAPIKey("sk-ant-x"), option.WithMaxRetries(0))
		big := params
		big.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat("x", 4096)))}
		_, err = c.Messages.New(ctx, big)
		checkV2Error(t, err, 413, "request_too_large")
	})
}

func checkV2Error(t *testing.T, err error, status int, typ string) {
	t.Helper()
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Errorf("status %d: error %T %v, want *anthropic.Error", status, err, err)
		return
	}
	if apiErr.StatusCode != status || !strings.Contains(apiErr.RawJSON(), `"type":"`+typ+`"`) {
		t.Errorf("status %d: got %d %s", status, apiErr.StatusCode, apiErr.RawJSON())
	}
}
