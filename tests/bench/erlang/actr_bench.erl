%% Erlang/OTP baselines for the core benchmark workloads (pingpong, ring,
%% spawn, fanin) described in shared/bench/WORKLOADS.md. Each run prints one
%% line "bench=<name> <figure>=<value> elapsed_s=<seconds> ... impl=erlang"
%% and halts with status 1 when its own count check fails.
%%
%% Usage: erl -noshell +P 2000000 -pa DIR -s actr_bench main <name> [size]
%%        (also callable with -run, which passes strings instead of atoms)
-module(actr_bench).
-export([main/1]).

%% Longest wait for any single expected message before the run is declared
%% failed (a lost message must not hang the bench forever).
-define(WAIT_MS, 300000).

%% ---------------------------------------------------------------------------
%% Entry point

%% Runs the named workload in a fresh process and halts the node with status 0
%% on success, 1 on a failed check, 2 on a usage error.
main(Args) ->
    Strs = [to_list(A) || A <- Args],
    case parse(Strs) of
        {ok, Name, Size} ->
            Self = self(),
            {Pid, Ref} = spawn_monitor(fun() -> Self ! {result, self(), run(Name, Size)} end),
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
    {error, "usage: actr_bench main pingpong|ring|spawn|fanin [size]"}.

default_size("pingpong") -> 1000000;   % round trips
default_size("ring") -> 10000000;      % hops
default_size("spawn") -> 1000000;      % actors
default_size("fanin") -> 10000000;     % messages
default_size(_) -> undefined.

run("pingpong", N) -> pingpong(N);
run("ring", N) -> ring(N);
run("spawn", N) -> spawn_bench(N);
run("fanin", N) -> fanin(N).

%% ---------------------------------------------------------------------------
%% Helpers

now_ns() -> erlang:monotonic_time(nanosecond).

secs(T0, T1) -> (T1 - T0) / 1.0e9.

%% Formats the result line; Extra is a list of {Key, Value} pairs.
line(Name, Fig, Value, Elapsed, Extra) ->
    Ex = [io_lib:format(" ~s=~b", [K, V]) || {K, V} <- Extra],
    lists:flatten(io_lib:format("bench=~s ~s=~b elapsed_s=~.6f~s impl=erlang",
                                [Name, Fig, round(Value), Elapsed, Ex])).

%% Receives exactly one message matching Tag ({Tag, Value}) or fails.
await(Tag) ->
    receive
        {Tag, V} -> {ok, V}
    after ?WAIT_MS -> timeout
    end.

%% ---------------------------------------------------------------------------
%% pingpong: two processes exchange a small integer N times each way.

pingpong(N) ->
    Self = self(),
    Ponger = spawn(fun() -> pong_init(Self) end),
    Pinger = spawn(fun() -> ping_init(Ponger, N, Self) end),
    Ponger ! {peer, Pinger},
    T0 = now_ns(),
    Pinger ! go,
    R1 = await(ping_done),
    T1 = now_ns(),
    Ponger ! stop,
    R2 = await(pong_count),
    case {R1, R2} of
        {{ok, N}, {ok, N}} ->
            E = secs(T0, T1),
            {ok, line("pingpong", "msgs_per_s", 2 * N / E, E, [])};
        Other ->
            {error, io_lib:format("expected ~b round trips, got ~p", [N, Other])}
    end.

ping_init(Ponger, N, Parent) ->
    receive go -> ok end,
    ping_loop(Ponger, 0, N, Parent).

%% Sends I, waits for the same integer back; counts completed round trips.
ping_loop(_Ponger, N, N, Parent) ->
    Parent ! {ping_done, N};
ping_loop(Ponger, I, N, Parent) ->
    Ponger ! I,
    receive
        I -> ping_loop(Ponger, I + 1, N, Parent)
    after ?WAIT_MS -> Parent ! {ping_done, {lost_reply, I}}
    end.

pong_init(Parent) ->
    receive {peer, Pinger} -> pong_loop(Pinger, Parent, 0) end.

pong_loop(Pinger, Parent, C) ->
    receive
        stop -> Parent ! {pong_count, C};
        I when is_integer(I) ->
            Pinger ! I,
            pong_loop(Pinger, Parent, C + 1)
    end.

%% ---------------------------------------------------------------------------
%% ring: 1,000 processes pass one integer token H times around the ring.

-define(RING_SIZE, 1000).

ring(H) ->
    Self = self(),
    Members = [spawn(fun() -> ring_init(Self) end) || _ <- lists:seq(1, ?RING_SIZE)],
    Nexts = tl(Members) ++ [hd(Members)],
    lists:foreach(fun({P, Nx}) -> P ! {next, Nx} end, lists:zip(Members, Nexts)),
    T0 = now_ns(),
    hd(Members) ! H,                  % injection; the token then makes H hops
    Done = await(ring_done),
    T1 = now_ns(),
    [P ! stop || P <- Members],
    Counts = [await(ring_count) || _ <- Members],
    Total = lists:sum([C || {ok, C} <- Counts]),
    Missing = length([x || X <- Counts, X =:= timeout]),
    case {Done, Total, Missing} of
        {{ok, 0}, Expected, 0} when Expected =:= H + 1 ->
            E = secs(T0, T1),
            {ok, line("ring", "hops_per_s", H / E, E, [{"actors", ?RING_SIZE}])};
        _ ->
            {error, io_lib:format("expected ~b token receipts, got ~b (done=~p, missing=~b)",
                                  [H + 1, Total, Done, Missing])}
    end.

ring_init(Parent) ->
    receive {next, Next} -> ring_loop(Next, Parent, 0) end.

%% The token is the number of hops still to make; the holder of 0 reports.
ring_loop(Next, Parent, C) ->
    receive
        0 ->
            Parent ! {ring_done, 0},
            ring_loop(Next, Parent, C + 1);
        R when is_integer(R) ->
            Next ! R - 1,
            ring_loop(Next, Parent, C + 1);
        stop ->
            Parent ! {ring_count, C}
    end.

%% ---------------------------------------------------------------------------
%% spawn: N processes each wait for one message, reply to the parent, exit.

spawn_bench(N) ->
    Self = self(),
    garbage_collect(),
    M0 = erlang:memory(total),
    Rss0 = rss_bytes(),
    T0 = now_ns(),
    Pids = spawn_n(N, Self, []),
    %% Peak: every process is alive and waiting; none has been sent anything.
    M1 = erlang:memory(total),
    Rss1 = rss_bytes(),
    lists:foreach(fun(P) -> P ! go end, Pids),
    Got = collect_replies(N, 0),
    T1 = now_ns(),
    case Got of
        N ->
            E = secs(T0, T1),
            {ok, line("spawn", "spawns_per_s", N / E, E,
                      [{"bytes_per_actor", (M1 - M0) div N},
                       {"rss_bytes_per_actor", (Rss1 - Rss0) div N},
                       {"actors", N}])};
        _ ->
            {error, io_lib:format("expected ~b replies, got ~b", [N, Got])}
    end.

spawn_n(0, _Parent, Acc) -> Acc;
spawn_n(K, Parent, Acc) ->
    P = spawn(fun() -> receive go -> Parent ! spawned_done end end),
    spawn_n(K - 1, Parent, [P | Acc]).

collect_replies(N, N) -> N;
collect_replies(N, Got) ->
    receive
        spawned_done -> collect_replies(N, Got + 1)
    after ?WAIT_MS -> Got
    end.

%% Resident set size of this OS process in bytes (0 if /proc is unreadable).
rss_bytes() ->
    case file:read_file("/proc/self/status") of
        {ok, Bin} ->
            case re:run(Bin, "VmRSS:\\s+(\\d+) kB", [{capture, all_but_first, list}]) of
                {match, [Kb]} -> list_to_integer(Kb) * 1024;
                nomatch -> 0
            end;
        _ -> 0
    end.

%% ---------------------------------------------------------------------------
%% fanin: 1,000 senders each send M/1,000 integers to one sink.

-define(SENDERS, 1000).

fanin(M) when M rem ?SENDERS =/= 0 ->
    {error, io_lib:format("size ~b is not a multiple of ~b senders", [M, ?SENDERS])};
fanin(M) ->
    Self = self(),
    K = M div ?SENDERS,
    Sink = spawn(fun() -> sink_loop(M, 0, 0, Self) end),
    T0 = now_ns(),
    [spawn(fun() -> send_n(Sink, 1, K) end) || _ <- lists:seq(1, ?SENDERS)],
    R = await(sink_done),
    T1 = now_ns(),
    %% Every sender sends 1..K, so the integers received must sum to this.
    Sum = ?SENDERS * (K * (K + 1) div 2),
    case R of
        {ok, {M, Sum}} ->
            E = secs(T0, T1),
            {ok, line("fanin", "msgs_per_s", M / E, E, [{"senders", ?SENDERS}])};
        _ ->
            {error, io_lib:format("expected {~b, ~b}, sink reported ~p", [M, Sum, R])}
    end.

send_n(_Sink, I, K) when I > K -> ok;
send_n(Sink, I, K) ->
    Sink ! I,
    send_n(Sink, I + 1, K).

sink_loop(M, M, Sum, Parent) ->
    Parent ! {sink_done, {M, Sum}};
sink_loop(M, C, Sum, Parent) ->
    receive
        I when is_integer(I) -> sink_loop(M, C + 1, Sum + I, Parent)
    after ?WAIT_MS -> Parent ! {sink_done, {C, Sum}}
    end.
