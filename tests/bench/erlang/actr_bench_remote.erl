%% Erlang/OTP distribution baselines for the cluster workloads of
%% shared/bench/WORKLOADS.md: remote_pingpong and remote_stream, two nodes
%% (two OS processes) on this host talking over loopback TCP.
%%
%% The node that runs this module must be distributed (erl -sname ... with a
%% cookie); it starts the second node with OTP's `peer` module (same cookie,
%% same code path), spawns the serving process there, runs the workload and
%% stops the peer. Each run prints one line
%% "bench=<name> <figure>=<value> elapsed_s=<seconds> ... impl=erlang" and
%% halts with status 1 when its own check fails (2 on a usage error).
%%
%% Usage: erl -noshell -sname A -setcookie C -pa DIR -run actr_bench_remote main <name> [size]
-module(actr_bench_remote).
-export([main/1, pong_init/0, sink_init/0]).

%% Longest wait for any single expected message before the run is declared
%% failed (a lost message must not hang the bench forever).
-define(WAIT_MS, 300000).

%% ---------------------------------------------------------------------------
%% Entry point

main(Args) ->
    Strs = [to_list(A) || A <- Args],
    case parse(Strs) of
        {ok, Name, Size} ->
            Self = self(),
            {Pid, Ref} = spawn_monitor(fun() -> Self ! {result, self(), with_peer(Name, Size)} end),
            receive
                {result, Pid, {ok, Line}} ->
                    io:put_chars([Line, $\n]),
                    erlang:halt(0);
                {result, Pid, {error, Why}} ->
                    io:format(standard_error, "bench=~s FAILED: ~s~n", [Name, Why]),
                    erlang:halt(1);
                {'DOWN', Ref, process, Pid, Reason} ->
                    io:format(standard_error, "bench=~s crashed: ~p~n", [Name, Reason]),
                    erlang:halt(1)
            end;
        {error, Usage} ->
            io:format(standard_error, "~s~n", [Usage]),
            erlang:halt(2)
    end.

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(L) when is_list(L) -> L.

parse([Name]) ->
    case default_size(Name) of
        undefined -> usage();
        D -> {ok, Name, D}
    end;
parse([Name, SizeStr]) ->
    case {default_size(Name), string:to_integer(SizeStr)} of
        {undefined, _} -> usage();
        {_, {N, []}} when N > 0 -> {ok, Name, N};
        _ -> usage()
    end;
parse(_) -> usage().

usage() ->
    {error, "usage: actr_bench_remote main remote_pingpong|remote_stream [size]"}.

default_size("remote_pingpong") -> 100000;   % round trips
default_size("remote_stream") -> 2000000;    % messages
default_size(_) -> undefined.

%% Starts node B (same cookie, same code path), runs the workload against it,
%% and stops it whatever happens.
with_peer(Name, Size) ->
    case node() of
        nonode@nohost ->
            {error, "this node is not distributed (start erl with -sname and -setcookie)"};
        _ ->
            Dirs = lists:append([["-pa", D] || D <- code:get_path(), is_bench_dir(D)]),
            PeerArgs = ["-setcookie", atom_to_list(erlang:get_cookie()) | Dirs],
            {ok, Peer, Node} = peer:start_link(#{name => peer:random_name(actr_bench_b),
                                                 args => PeerArgs}),
            try
                run(Name, Size, Node)
            after
                peer:stop(Peer)
            end
    end.

%% The directory this module was loaded from (the peer needs it too).
is_bench_dir(D) ->
    filelib:is_regular(filename:join(D, "actr_bench_remote.beam")).

run("remote_pingpong", N, Node) -> remote_pingpong(N, Node);
run("remote_stream", N, Node) -> remote_stream(N, Node).

%% ---------------------------------------------------------------------------
%% Helpers

now_ns() -> erlang:monotonic_time(nanosecond).

secs(T0, T1) -> (T1 - T0) / 1.0e9.

line(Name, Fig, Value, Elapsed, Extra) ->
    Ex = [io_lib:format(" ~s=~b", [K, V]) || {K, V} <- Extra],
    lists:flatten(io_lib:format("bench=~s ~s=~b elapsed_s=~.6f~s impl=erlang",
                                [Name, Fig, round(Value), Elapsed, Ex])).

%% ---------------------------------------------------------------------------
%% remote_pingpong: a pinger here and a ponger on node B exchange a small
%% integer N times each way. The ponger checks that pings arrive as 0, 1, 2,
%% ...; the pinger checks each pong; at the end the ponger's count must be N.

remote_pingpong(N, Node) ->
    Ponger = spawn_link(Node, ?MODULE, pong_init, []),
    Ponger ! {peer, self()},
    T0 = now_ns(),
    R = ping_loop(Ponger, 0, N),
    T1 = now_ns(),
    Ponger ! {count, self()},
    C = receive {pong_count, X} -> X after ?WAIT_MS -> timeout end,
    case {R, C} of
        {ok, N} ->
            E = secs(T0, T1),
            {ok, line("remote_pingpong", "rtt_per_s", N / E, E,
                      [{"round_trips", N}, {"schedulers", erlang:system_info(schedulers)}])};
        _ ->
            {error, io_lib:format("expected ~b round trips, got ~p (ponger count ~p)",
                                  [N, R, C])}
    end.

ping_loop(_Ponger, N, N) -> ok;
ping_loop(Ponger, I, N) ->
    Ponger ! I,
    receive
        I -> ping_loop(Ponger, I + 1, N);
        Other when is_integer(Other) -> {wrong_pong, Other, expected, I}
    after ?WAIT_MS -> {lost_pong, I}
    end.

pong_init() ->
    receive {peer, Pinger} -> pong_loop(Pinger, 0) end.

pong_loop(Pinger, C) ->
    receive
        C ->
            Pinger ! C,
            pong_loop(Pinger, C + 1);
        I when is_integer(I) ->
            exit({wrong_ping, I, expected, C});
        {count, From} ->
            From ! {pong_count, C}
    end.

%% ---------------------------------------------------------------------------
%% remote_stream: a sender here sends M small integers 0 .. M-1 to a sink on
%% node B, which checks that they arrive in order and replies once when it has
%% counted all M. Distribution's own backpressure (a busy dist port suspends
%% the sender) bounds the memory.

remote_stream(M, Node) ->
    Sink = spawn_link(Node, ?MODULE, sink_init, []),
    Sink ! {setup, self(), M},
    T0 = now_ns(),
    send_n(Sink, 0, M),
    R = receive {sink_done, C} -> C after ?WAIT_MS -> timeout end,
    T1 = now_ns(),
    case R of
        M ->
            E = secs(T0, T1),
            {ok, line("remote_stream", "msgs_per_s", M / E, E,
                      [{"messages", M}, {"schedulers", erlang:system_info(schedulers)}])};
        _ ->
            {error, io_lib:format("expected ~b messages, sink reported ~p", [M, R])}
    end.

send_n(_Sink, M, M) -> ok;
send_n(Sink, I, M) ->
    Sink ! I,
    send_n(Sink, I + 1, M).

sink_init() ->
    receive {setup, From, M} -> sink_loop(From, M, 0) end.

sink_loop(From, M, M) ->
    From ! {sink_done, M};
sink_loop(From, M, C) ->
    receive
        C -> sink_loop(From, M, C + 1);
        I when is_integer(I) -> exit({out_of_order, I, expected, C})
    after ?WAIT_MS -> From ! {sink_done, {stalled_at, C}}
    end.
