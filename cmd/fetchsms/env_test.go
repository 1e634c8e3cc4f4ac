package main

import (
	"context"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEnvFlags: every flag is read from FETCHSMS_<FLAG> with the flag's own
// parser, so a boolean means exactly what strconv.ParseBool accepts, and a value
// the flag cannot parse is an error naming the variable and the value. The
// command line wins over the environment.
func TestEnvFlags(t *testing.T) {
	t.Parallel()
	type flags struct {
		sandbox  bool
		servers  int
		duration time.Duration
		url      string
		cpu      string
	}
	cases := []struct {
		env     map[string]string
		args    []string
		want    flags
		wantErr []string // substrings of the error; nil: no error
	}{
		{env: nil, want: flags{false, 1, 5 * time.Second, "", "auto"}},
		{env: map[string]string{"FETCHSMS_SANDBOX": "1"}, want: flags{true, 1, 5 * time.Second, "", "auto"}},
		{env: map[string]string{"FETCHSMS_SANDBOX": "true"}, want: flags{true, 1, 5 * time.Second, "", "auto"}},
		{env: map[string]string{"FETCHSMS_SANDBOX": "T"}, want: flags{true, 1, 5 * time.Second, "", "auto"}},
		{env: map[string]string{"FETCHSMS_SANDBOX": "FALSE"}, want: flags{false, 1, 5 * time.Second, "", "auto"}},
		{env: map[string]string{"FETCHSMS_SANDBOX": "0"}, want: flags{false, 1, 5 * time.Second, "", "auto"}},
		{env: map[string]string{"FETCHSMS_SANDBOX": "yes"}, wantErr: []string{"FETCHSMS_SANDBOX", `"yes"`, "--sandbox"}},
		{env: map[string]string{"FETCHSMS_SANDBOX": "on"}, wantErr: []string{"FETCHSMS_SANDBOX", `"on"`}},
		{env: map[string]string{"FETCHSMS_SANDBOX": ""}, wantErr: []string{"FETCHSMS_SANDBOX", `""`}},
		{env: map[string]string{"FETCHSMS_SERVERS": "3"}, want: flags{false, 3, 5 * time.Second, "", "auto"}},
		{env: map[string]string{"FETCHSMS_SERVERS": "two"}, wantErr: []string{"FETCHSMS_SERVERS", `"two"`, "--servers"}},
		{env: map[string]string{"FETCHSMS_SERVERS": "99999999999999999999"}, wantErr: []string{"FETCHSMS_SERVERS", "out of range"}},
		{env: map[string]string{"FETCHSMS_DURATION": "2m"}, want: flags{false, 1, 2 * time.Minute, "", "auto"}},
		{env: map[string]string{"FETCHSMS_DURATION": "5"}, wantErr: []string{"FETCHSMS_DURATION", `"5"`, "--duration"}},
		{env: map[string]string{"FETCHSMS_DATABASE_URL": "postgres://x"}, want: flags{false, 1, 5 * time.Second, "postgres://x", "auto"}},
		{env: map[string]string{"FETCHSMS_WRITER_CPU": "off"}, want: flags{false, 1, 5 * time.Second, "", "off"}},
		{env: map[string]string{"FETCHSMS_WRITER_CPU": "banana"}, wantErr: []string{"FETCHSMS_WRITER_CPU", `"banana"`, "CPU"}},
		{env: map[string]string{"FETCHSMS_SANDBOX": "maybe", "FETCHSMS_SERVERS": "x"}, wantErr: []string{"FETCHSMS_SANDBOX", "FETCHSMS_SERVERS"}},
		// The command line wins, also over a variable set to something else.
		{env: map[string]string{"FETCHSMS_SANDBOX": "1", "FETCHSMS_SERVERS": "3"}, args: []string{"--sandbox=false", "--servers", "4"},
			want: flags{false, 4, 5 * time.Second, "", "auto"}},
		// Variables of no flag (the tests' own, say) are not flags.
		{env: map[string]string{"FETCHSMS_TEST_CHILD_ARGS": "[]", "SANDBOX": "yes"}, want: flags{false, 1, 5 * time.Second, "", "auto"}},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var got flags
		fs.BoolVar(&got.sandbox, "sandbox", false, "")
		fs.IntVar(&got.servers, "servers", 1, "")
		fs.DurationVar(&got.duration, "duration", 5*time.Second, "")
		fs.StringVar(&got.url, "database-url", "", "")
		cpu := &writerCPUFlag{}
		cpu.Set("auto")
		fs.Var(cpu, "writer-cpu", "")
		err := setFromEnv(fs, func(name string) (string, bool) { v, ok := c.env[name]; return v, ok })
		if err == nil {
			err = fs.Parse(c.args)
		}
		got.cpu = cpu.value
		if c.wantErr != nil {
			if err == nil {
				t.Errorf("env %v: no error, flags %+v", c.env, got)
				continue
			}
			for _, s := range c.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("env %v: error %q does not name %s", c.env, err, s)
				}
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("env %v args %v: %+v, %v; want %+v", c.env, c.args, got, err, c.want)
		}
	}
}

// TestEnvFlagsAtStart: each command fails at start, before it does anything,
// on a variable its flags cannot parse (the context is already cancelled: a
// command that ignored the variable would fail on that instead, or not at all).
func TestEnvFlagsAtStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	db := t.TempDir() + "/env.db"
	for _, c := range []struct {
		name, value string
		args        []string
	}{
		{"FETCHSMS_SANDBOX", "yes", []string{"serve", "--addr", "127.0.0.1:0", "--db", db}},
		{"FETCHSMS_SIMULATOR", "no", []string{"serve", "--addr", "127.0.0.1:0", "--db", db}},
		{"FETCHSMS_NO_IP_LIMITS", "on", []string{"serve", "--addr", "127.0.0.1:0", "--db", db}},
		{"FETCHSMS_WEBHOOK_ALLOW_PRIVATE", "y", []string{"serve", "--addr", "127.0.0.1:0", "--db", db}},
		{"FETCHSMS_SERVERS", "two", []string{"serve", "--addr", "127.0.0.1:0", "--db", db}},
		{"FETCHSMS_WRITER_CPU", "banana", []string{"serve", "--addr", "127.0.0.1:0", "--db", db}},
		{"FETCHSMS_DURATION", "5", []string{"bench"}},
		{"FETCHSMS_KEYS", "many", []string{"bench"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.name, c.value)
			var stderr strings.Builder
			err := run(ctx, c.args, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), c.name) || !strings.Contains(err.Error(), `"`+c.value+`"`) {
				t.Errorf("%s=%s %v: %v, want an error naming the variable and its value", c.name, c.value, c.args, err)
			}
		})
	}
}

// TestEnvSandboxOne: FETCHSMS_SANDBOX=1 starts the sandbox (its demo account
// signs in), as strconv.ParseBool reads "1".
func TestEnvSandboxOne(t *testing.T) {
	t.Setenv("FETCHSMS_SANDBOX", "1")
	t.Setenv("FETCHSMS_SIMULATOR", "0")
	s := startServer(t)
	s.call(t, http.MethodPost, "/v1/auth/login", "", map[string]any{"email": demoEmail, "password": demoPassword}, http.StatusOK)
}
