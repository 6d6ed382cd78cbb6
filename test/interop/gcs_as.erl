%% A GCS AS on Erlang/OTP's own Diameter stack (diameter, ssl): the
%% independent side of the MB2-C interoperability test (test/interop/).
%%
%% It shares no code with freeDiameter or GnuTLS: OTP's diameter does the
%% CER/CEA, watchdog and codec, OTP's ssl does TLS, and the MB2-C dictionary
%% (mb2c.dia, compiled by diameterc at test time) was written from the
%% TS 29.468 reference. Decoding is strict: every answer and GNR of the
%% BM-SC must decode with no error (M-bit AVPs known, arities of the ABNF,
%% AVP lengths), or the step fails and the error is printed with its AVP.
%%
%% usage: erl -noshell -pa EBIN -run gcs_as main MODE key=value...
%%   MODE scenario: connects, runs the scenario file scn=FILE (the language
%%        of extensions/app_gcs_client/scenarios/standard.scn, the subset
%%        that file uses), answers every GNR with a GNA
%%   MODE spoof: connects claiming origin=... with the given certificate;
%%        passes only if the BM-SC refuses the CER with CEA 3010 and no
%%        request gets through
%%   MODE claim: connects as origin=..., then sends a GAR whose Origin-Host
%%        is claim=...; passes only if it is answered 5012 with a GAA that
%%        decodes with the GAA ABNF
%% keys: addr port cert key ca origin realm peer (BM-SC identity, checked
%%       against the SAN of its certificate) tls=1.3|1.2 scn up_timeout (s)
%%       watchdog=1 (scenario: check that DWR/DWA ran, waiting for one)
%% Output: one "ok - ..." / "FAIL - ..." line per check, then
%% "gcs_as: N passed, M failed"; exit status 0 only when M = 0.
-module(gcs_as).

-export([main/1]).
%% diameter_app callbacks
-export([peer_up/3, peer_down/3, pick_peer/4, prepare_request/3,
         prepare_retransmit/3, handle_answer/4, handle_error/4,
         handle_request/3]).

-include_lib("diameter/include/diameter.hrl").

-define(APP, 16777335).
-define(V3GPP, 10415).
-define(MAIN, gcs_as_main).
-define(OWN_RC, 1). % our own Restart-Counter
-define(OFFERED, 0). % Feature-List offered in GARs: no optional feature

%% ---------------------------------------------------------------- entry

main([Mode | Args]) ->
    Opts = maps:from_list([kv(A) || A <- Args]),
    register(?MAIN, self()),
    put(pass, 0),
    put(fail, 0),
    try
        run(Mode, Opts)
    catch
        C:E:St -> ko("crash ~p:~p~n~p", [C, E, St])
    end,
    P = get(pass),
    F = get(fail),
    io:format("gcs_as: ~b passed, ~b failed~n", [P, F]),
    halt(if F == 0, P > 0 -> 0; true -> 1 end).

kv(A) ->
    case string:split(A, "=") of
        [K, V] -> {list_to_atom(K), V};
        [K] -> {kind, K} % a positional word (wait-gnr event|expiry)
    end.

ok(Fmt, Args) ->
    put(pass, get(pass) + 1),
    io:format("ok   - " ++ Fmt ++ "~n", Args).

ko(Fmt, Args) ->
    put(fail, get(fail) + 1),
    io:format("FAIL - " ++ Fmt ++ "~n", Args).

check(true, Fmt, Args) -> ok(Fmt, Args), true;
check(_, Fmt, Args) -> ko(Fmt, Args), false.

say(Fmt, Args) -> io:format("     " ++ Fmt ++ "~n", Args).

%% ---------------------------------------------------------------- service

run("scenario", O) ->
    Svc = start(O),
    case wait_up(Svc, 1000 * list_to_integer(maps:get(up_timeout, O, "20"))) of
        {up, Caps} ->
            {_, Remote} = Caps#diameter_caps.origin_host,
            {_, Vsai} = common_apps(Caps),
            check(Remote == peer(O) andalso lists:member({?V3GPP, [?APP]}, Vsai),
                  "CER/CEA over TLS: up, CEA Origin-Host ~s, applications ~w "
                  "(Vendor-Specific-Application-Id 10415/16777335 expected)",
                  [Remote, common_apps(Caps)]),
            tls_info(Svc, O),
            scenario(Svc, O),
            stash_report(),
            [watchdog(Svc) || maps:get(watchdog, O, "0") == "1"],
            diameter:stop_service(Svc);
        Other ->
            ko("no connection to the BM-SC: ~p", [Other])
    end;
run("spoof", O) ->
    Svc = start(O),
    case wait_up(Svc, 20000) of
        {up, _} ->
            ko("the BM-SC accepted ~s with a certificate that does not name it",
               [maps:get(origin, O)]),
            R = call(Svc, gar(O, [{'Restart-Counter', ?OWN_RC}])),
            ko("... and a GAR over it got ~P", [R, 12]);
        {cea, RC, _} ->
            check(RC == 3010, "CER claiming ~s with another identity's certificate: "
                  "CEA Result-Code ~w (3010 DIAMETER_UNKNOWN_PEER expected)",
                  [maps:get(origin, O), RC]),
            R = diameter:call(Svc, mb2c, gar(O, [{'Restart-Counter', ?OWN_RC}]),
                              [{timeout, 2000}]),
            check(R == {error, no_connection},
                  "... and no GAR can be sent (~p)", [R]);
        {closed, Why} ->
            ko("connection closed without a CEA: ~p", [Why]);
        timeout ->
            ko("no CEA within 20 s", [])
    end,
    diameter:stop_service(Svc);
run("claim", O) ->
    %% an authenticated connection (origin=) whose GAR claims claim=...
    Svc = start(O),
    case wait_up(Svc, 20000) of
        {up, _} ->
            Other = list_to_binary(maps:get(claim, O)),
            Tag = io_lib:format("GAR claiming ~s over ~s's connection", [Other, origin(O)]),
            Msg = lists:keyreplace('Origin-Host', 1, gar(O, [{'Restart-Counter', ?OWN_RC}]),
                                   {'Origin-Host', Other}),
            case call(Svc, Msg) of
                {answer, ['GAA' | M], Errs, Avps} ->
                    RC = opt('Result-Code', M),
                    check(RC == 5012, "~s: GAA Result-Code ~p (5012, sec_mb2c's "
                          "deny_result_code default)", [Tag, RC]),
                    %% 5012 sets no E bit: the GAA's own ABNF applies (6.6.3)
                    decode_ok(Errs, Tag, "refusal GAA") andalso
                        ok("~s: the refusal GAA decodes with the GAA ABNF", [Tag]),
                    wire_flags(Avps, Tag, "GAA");
                {answer, Other2, _, _} ->
                    ko("~s: not a GAA: ~P", [Tag, Other2, 8]);
                Err ->
                    ko("~s: no answer: ~P", [Tag, Err, 8])
            end;
        Other ->
            ko("no connection to the BM-SC: ~p", [Other])
    end,
    diameter:stop_service(Svc);
run(M, _) ->
    ko("unknown mode ~s", [M]).

%% identities as binaries: in OTP's list form a string would be taken for a
%% list of values of an optional AVP
peer(O) -> list_to_binary(maps:get(peer, O, "bmsc.mb2c.lab")).
origin(O) -> list_to_binary(maps:get(origin, O, "gcs1.mb2c.lab")).
realm(O) -> list_to_binary(maps:get(realm, O, "mb2c.lab")).

start(O) ->
    ok = application:ensure_started(crypto),
    ok = application:ensure_started(asn1),
    ok = application:ensure_started(public_key),
    ok = application:ensure_started(ssl),
    ok = diameter:start(),
    Svc = binary_to_atom(<<"gcs_", (origin(O))/binary>>),
    SvcOpts =
        [{'Origin-Host', origin(O)},
         {'Origin-Realm', realm(O)},
         {'Vendor-Id', 0},
         {'Product-Name', "mb2c-interop-erlang"},
         {'Origin-State-Id', diameter:origin_state_id()},
         {'Supported-Vendor-Id', [?V3GPP]},
         %% 3GPP style advertisement, as on SGmb (TS 29.061 20.1)
         {'Vendor-Specific-Application-Id',
          [[{'Vendor-Id', ?V3GPP}, {'Auth-Application-Id', [?APP]}]]},
         {decode_format, map},
         {string_decode, false},
         {strict_mbit, true},
         {strict_arities, true},
         {application, [{alias, mb2c},
                        {dictionary, mb2c_dict},
                        {module, ?MODULE},
                        {answer_errors, callback},
                        {request_errors, callback}]}],
    ok = diameter:start_service(Svc, SvcOpts),
    true = diameter:subscribe(Svc),
    {ok, _} = diameter:add_transport(Svc, {connect, transport(O)}),
    Svc.

%% TLS at connection establishment (RFC 6733 13: the TLS port), both sides
%% authenticated; suites, groups and signatures within the project's
%% profile (profiles/tls/3gpp-tls-profile.prio: TLS 1.2/1.3, AEAD only,
%% ECDHE/DHE, SHA-256/384 signatures)
transport(O) ->
    {ok, Addr} = inet:parse_address(maps:get(addr, O, "127.0.0.1")),
    Vsn = case maps:get(tls, O, "1.3") of
              "1.2" -> 'tlsv1.2';
              _ -> 'tlsv1.3'
          end,
    Ssl = [{certfile, maps:get(cert, O)},
           {keyfile, maps:get(key, O)},
           {cacertfile, maps:get(ca, O)},
           %% verify_peer: the BM-SC's certificate must chain to ca and
           %% name peer (fail_if_no_peer_cert is server-only: OTP 25
           %% ignored it in a client, OTP 26+ refuses the connect with
           %% {option,server_only,fail_if_no_peer_cert}, no TCP at all)
           {verify, verify_peer},
           {server_name_indication, binary_to_list(peer(O))},
           {versions, [Vsn]},
           {ciphers, suites(Vsn)},
           {signature_algs, sigalgs(Vsn)}]
        ++ groups(Vsn),
    [{transport_module, diameter_tcp},
     {transport_config, [{raddr, Addr},
                         {rport, list_to_integer(maps:get(port, O))},
                         {ssl_options, true} | Ssl]},
     {connect_timer, 60000},
     %% Tw 6 s, the RFC 3539 minimum (OTP adds +-2 s jitter): DWR/DWA
     %% usually run during the scenario's idle wait for the TMGI expiry
     {watchdog_timer, 6000}].

suites(Vsn) ->
    ssl:filter_cipher_suites(
      ssl:cipher_suites(all, Vsn),
      [{key_exchange, fun(K) -> lists:member(K, [any, ecdhe_ecdsa, ecdhe_rsa, dhe_rsa]) end},
       {cipher, fun(C) -> lists:member(C, [aes_128_gcm, aes_256_gcm, chacha20_poly1305]) end},
       {mac, fun(M) -> lists:member(M, [aead]) end}]).

sigalgs('tlsv1.3') ->
    [ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384,
     rsa_pss_rsae_sha256, rsa_pss_rsae_sha384,
     rsa_pss_pss_sha256, rsa_pss_pss_sha384];
sigalgs('tlsv1.2') ->
    [{sha256, ecdsa}, {sha384, ecdsa}, rsa_pss_rsae_sha256, rsa_pss_rsae_sha384,
     {sha256, rsa}, {sha384, rsa}].

groups('tlsv1.3') -> [{supported_groups, [x25519, secp256r1, secp384r1]}];
groups('tlsv1.2') -> [{eccs, [secp256r1, secp384r1]}].

wait_up(Svc, Tmo) ->
    receive
        #diameter_event{service = Svc, info = Info} ->
            case Info of
                {up, _Ref, {_PeerRef, Caps}, _Cfg, _Pkt} -> {up, Caps};
                %% a refused CER: the CEA's Result-Code from its AVPs (an
                %% answer-message with the E bit, or a CEA)
                {closed, _Ref, {'CEA', Caps, #diameter_packet{avps = Avps}}, _Cfg} ->
                    {cea, result_code(Avps), Caps};
                {closed, _Ref, {'CEA', _Res, Caps, #diameter_packet{avps = Avps}}, _Cfg} ->
                    {cea, result_code(Avps), Caps};
                {closed, _Ref, Why, _Cfg} -> {closed, Why};
                _ -> say("event ~P", [Info, 8]), wait_up(Svc, Tmo)
            end
    after Tmo -> timeout
    end.

result_code(Avps) ->
    case [V || #diameter_avp{name = 'Result-Code', value = V} <- Avps] of
        [RC | _] -> RC;
        [] -> none
    end.

%% the BM-SC's advertised applications: {Auth-Application-Ids,
%% [{Vendor-Id, Auth-Application-Ids}] of Vendor-Specific-Application-Id}
common_apps(#diameter_caps{auth_application_id = {_, A},
                           vendor_specific_application_id = {_, V}}) ->
    {A, [{one(Vid), Ids} || {_, Vid, Ids, _} <- V]}.

one([X]) -> X; % the record form of OTP's base dictionaries may list it
one(X) -> X.

%% the negotiated TLS version and suite: read from the ssl socket held by
%% the diameter_tcp process of the connection (its state is searched for
%% the #sslsocket{} term; the transport config would only show what was
%% offered)
tls_info(Svc, O) ->
    Want = case maps:get(tls, O, "1.3") of "1.2" -> 'tlsv1.2'; _ -> 'tlsv1.3' end,
    Owners = [P || C <- diameter:service_info(Svc, connections),
                   {port, Port} <- C, {owner, P} <- Port],
    Socks = lists:append([find_ssl(catch sys:get_state(P, 5000)) || P <- Owners]),
    case [ssl:connection_information(S, [protocol, selected_cipher_suite]) || S <- Socks] of
        [{ok, I} | _] ->
            V = proplists:get_value(protocol, I),
            #{cipher := C, key_exchange := K} = proplists:get_value(selected_cipher_suite, I),
            check(V == Want andalso lists:member(C, [aes_128_gcm, aes_256_gcm, chacha20_poly1305]),
                  "TLS version of the connection: ~s, suite ~s/~s (AEAD of the profile)",
                  [V, K, C]);
        Other ->
            ko("TLS information of the connection not found (~P)", [Other, 6])
    end.

find_ssl(T) when is_tuple(T), element(1, T) == sslsocket -> [T];
find_ssl(T) when is_tuple(T) -> find_ssl(tuple_to_list(T));
find_ssl(L) when is_list(L) -> lists:append([find_ssl(X) || X <- L]);
find_ssl(M) when is_map(M) -> find_ssl(maps:values(M));
find_ssl(_) -> [].

%% DWR/DWA (RFC 6733 5.5, RFC 3539) with the BM-SC during the scenario:
%% from the connection's counters (command 280, answers by Result-Code)
%% (waiting up to 10 s more for the first one when the scenario had none)
watchdog(Svc) -> watchdog(Svc, 50).

watchdog(Svc, Tries) ->
    St = lists:append([S || C <- diameter:service_info(Svc, connections),
                            {statistics, S} <- C]),
    Dwa = lists:sum([N || {{{0, 280, 0}, recv}, N} <- St]),
    Ok = lists:sum([N || {{{0, 280, 0}, recv, {'Result-Code', 2001}}, N} <- St]),
    if
        Dwa == 0, Tries > 0 ->
            timer:sleep(200),
            watchdog(Svc, Tries - 1);
        true ->
            check(Dwa >= 1 andalso Ok == Dwa, "DWR/DWA with the BM-SC: ~b DWA, ~b with 2001",
                  [Dwa, Ok])
    end.

%% ---------------------------------------------------------------- messages

gar(O, Items) ->
    ['GAR',
     {'Session-Id', diameter:session_id(origin(O))},
     {'Auth-Application-Id', ?APP},
     {'Auth-Session-State', 1}, % NO_STATE_MAINTAINED
     {'Origin-Host', origin(O)},
     {'Origin-Realm', realm(O)},
     {'Destination-Realm', realm(O)},
     {'Destination-Host', peer(O)},
     %% no optional feature offered (Feature-List-ID 1, Feature-List 0)
     {'Supported-Features', [[{'Vendor-Id', ?V3GPP}, {'Feature-List-ID', 1},
                              {'Feature-List', ?OFFERED}]]}
     | Items].

call(Svc, Msg) ->
    diameter:call(Svc, mb2c, Msg, [{timeout, 10000}]).

%% ---------------------------------------------------------------- callbacks

peer_up(_Svc, _Peer, S) -> S.
peer_down(_Svc, _Peer, S) -> S.
pick_peer([Peer | _], _, _Svc, _S) -> {ok, Peer};
pick_peer([], _, _Svc, _S) -> false.
prepare_request(Pkt, _Svc, _Peer) -> {send, Pkt}.
prepare_retransmit(Pkt, _Svc, _Peer) -> {send, Pkt}.

handle_answer(#diameter_packet{msg = Msg, errors = Errs, avps = Avps}, _Req, _Svc, _Peer) ->
    {answer, Msg, Errs, Avps}.

handle_error(Reason, _Req, _Svc, _Peer) ->
    {error, Reason}.

%% GNR from the BM-SC: hand it to the scenario (which reports any decode
%% error) and answer at once: GNA 2001, or the error's result code (the
%% scenario's check has failed already then)
handle_request(#diameter_packet{msg = ['GNR' | M], errors = Errs, avps = Avps}, _Svc,
               _Peer) when Errs /= [] ->
    ?MAIN ! {gnr, M, Errs, Avps, erlang:monotonic_time(millisecond)},
    case hd(Errs) of
        {RC, _} when is_integer(RC) -> {answer_message, RC};
        RC when is_integer(RC) -> {answer_message, RC};
        _ -> {answer_message, 5012}
    end;
handle_request(#diameter_packet{msg = ['GNR' | M], errors = [], avps = Avps}, _Svc,
               {_, Caps}) ->
    ?MAIN ! {gnr, M, [], Avps, erlang:monotonic_time(millisecond)},
    #diameter_caps{origin_host = {OH, _}, origin_realm = {OR, _}} = Caps,
    {reply, ['GNA',
             {'Session-Id', maps:get('Session-Id', M)},
             {'Auth-Application-Id', ?APP},
             {'Auth-Session-State', 1},
             {'Origin-Host', OH},
             {'Origin-Realm', OR},
             {'Result-Code', 2001},
             {'Restart-Counter', ?OWN_RC}]};
handle_request(#diameter_packet{msg = Msg, errors = Errs}, _Svc, _Peer) ->
    ?MAIN ! {unexpected_request, Msg, Errs},
    {answer_message, 3001}.

%% ---------------------------------------------------------------- scenario

scenario(Svc, O) ->
    File = maps:get(scn, O),
    {ok, Bin} = file:read_file(File),
    Steps = parse(binary_to_list(Bin)),
    check(Steps /= [], "scenario ~s: ~b steps", [filename:basename(File), length(Steps)]),
    put(vars, #{}),
    put(bmsc_rc, undefined),
    put(gnrs, []),
    put(t0, erlang:monotonic_time(millisecond)),
    put(me, origin(O)),
    lists:foreach(fun(St) -> step(Svc, O, St) end, Steps).

parse(Text) ->
    Lines = lists:zip(lists:seq(1, length(string:split(Text, "\n", all))),
                      string:split(Text, "\n", all)),
    lists:filtermap(
      fun({N, L}) ->
              Code = string:trim(hd(string:split(L, "#"))),
              case string:lexemes(Code, " \t") of
                  [] -> false;
                  [Op | KVs] -> {true, {N, Op, maps:from_list([kv(X) || X <- KVs]), Code}}
              end
      end, Lines).

var(V, _) when is_integer(V) -> V;
var("$" ++ Name, _) ->
    case maps:find(Name, get(vars)) of
        {ok, X} -> X;
        error -> throw({unbound, Name})
    end;
var(V, tmgi) -> parse_tmgi(V);
var(V, int) -> list_to_integer(V).

arg(K, A, Type) -> var(maps:get(K, A), Type).

setvar(Name, V) -> put(vars, maps:put(Name, V, get(vars))).

allowed(Op, A) ->
    Keys = #{"heartbeat" => [], "allocate" => [n, save, count],
             "refresh" => [tmgi], "deallocate" => [tmgi],
             "activate" => [tmgi, qci, mbr, gbr, arp, pec, pev, sai, start, mb2u, 'save-flow'],
             "modify" => [tmgi, flow, sai, qci, mbr, gbr, arp, pec, pev],
             "deactivate" => [tmgi, flow], "wait-gnr" => [kind, tmgi, flow, event]},
    case maps:find(Op, Keys) of
        error -> {error, "operation not supported by this GCS AS"};
        {ok, L} ->
            Bad = [K || K <- maps:keys(A), not lists:member(K, [expect, timeout | L])],
            case Bad of [] -> ok; _ -> {error, io_lib:format("unknown keys ~p", [Bad])} end
    end.

step(Svc, O, {N, Op, A, Text}) ->
    Tag = io_lib:format("[~b] ~s", [N, Text]),
    case allowed(Op, A) of
        {error, Why} -> ko("~s: ~s", [Tag, Why]);
        ok ->
            try do_step(Svc, O, Op, A, Tag)
            catch throw:T -> ko("~s: ~p", [Tag, T])
            end
    end.

%% In OTP's list form an optional or repeated AVP takes a list of values,
%% so an optional grouped AVP is written [[{Name, Value}...]]; decoded
%% (map form) optional AVPs are lists too: opt/2 reads them.

%% send a GAR, check transport, decode, Result-Code, Supported-Features,
%% the BM-SC's Restart-Counter; returns the decoded GAA map or error
gaa(Svc, O, Items, Tag) ->
    case call(Svc, gar(O, Items)) of
        {answer, ['GAA' | M], Errs, Avps} ->
            %% a decode error fails the step; the checks go on with what
            %% was decoded
            decode_ok(Errs, Tag, "GAA"),
            wire_flags(Avps, Tag, "GAA"),
            extra_avps(M, Tag, "GAA"),
            RC = opt('Result-Code', M),
            check(RC == 2001, "~s: GAA Result-Code ~p", [Tag, RC]),
            features(M, Tag),
            restart_counter(M, Tag, "GAA"),
            M;
        Other ->
            throw(lists:flatten(io_lib:format("no GAA: ~P", [Other, 10])))
    end.

decode_ok([], _, _) -> true;
decode_ok(Errs, Tag, What) ->
    ko("~s: the ~s does not decode with the independent dictionary:", [Tag, What]),
    [say("  ~s", [fmt_err(E)]) || E <- Errs],
    false.

fmt_err({RC, #diameter_avp{name = Name, code = C, vendor_id = V, data = D}}) ->
    io_lib:format("~w ~s on AVP ~p (code ~p vendor ~p, data ~P)",
                  [RC, rc_name(RC), Name, C, V, D, 6]);
fmt_err({RC, Other}) -> io_lib:format("~w ~s: ~P", [RC, rc_name(RC), Other, 8]);
fmt_err(RC) -> io_lib:format("~p ~s", [RC, rc_name(RC)]).

%% The V and M bits of every AVP received, nested ones included, against
%% the AVP tables the dictionary was written from: V set exactly for vendor
%% AVPs; for 3GPP AVPs, M as in the "Must" / "Must not" columns (TS 29.468
%% table 6.4.1-1, 29.061, 29.212, 29.214). Supported-Features (M "may",
%% TS 29.229) and the vendor-0 AVPs (RFC 6733 rules, DRMP/Load M-bit wording
%% UNCONFIRMED) get the V check only.
wire_flags(Avps, Tag, What) ->
    All = flat_avps(Avps),
    Bad = lists:append([flag_err(A) || A <- All]),
    check(Bad == [] andalso All /= [], "~s: ~s AVP flags as in the AVP tables (~b AVPs)~s",
          [Tag, What, length(All), [[" - ", string:join(Bad, "; ")] || Bad /= []]]).

flat_avps([]) -> [];
flat_avps([H | T]) when is_list(H) -> flat_avps(H) ++ flat_avps(T);
flat_avps([#diameter_avp{} = A | T]) -> [A | flat_avps(T)];
flat_avps([_ | T]) -> flat_avps(T).

flag_err(#diameter_avp{name = undefined}) -> []; % not in the dictionary
flag_err(#diameter_avp{name = Name, code = C, vendor_id = V, is_mandatory = M}) ->
    case catch mb2c_dict:avp_header(Name) of
        {C, Flags, DV} ->
            Vok = (V == DV),
            DM = Flags band 16#40 /= 0,
            Mok = DV /= ?V3GPP orelse C == 628 orelse M == DM,
            [lists:flatten(io_lib:format("~s (~b): V ~s, M ~s (table: M ~s)",
                                         [Name, C, bit(V /= undefined), bit(M),
                                          case DM of true -> "must"; false -> "must not" end]))
             || not (Vok andalso Mok)];
        _ -> []
    end.

bit(true) -> "set";
bit(false) -> "clear".

%% AVPs outside the command's ABNF (allowed by *[ AVP ], shown as a note)
extra_avps(M, Tag, What) ->
    case maps:get('AVP', M, []) of
        [] -> ok;
        L -> say("~s: ~s carries AVPs outside its ABNF: ~p",
                 [Tag, What, [{N, C} || #diameter_avp{name = N, code = C} <- flat_avps(L)]])
    end.

rc_name(5001) -> "DIAMETER_AVP_UNSUPPORTED";
rc_name(5004) -> "DIAMETER_INVALID_AVP_VALUE";
rc_name(5005) -> "DIAMETER_MISSING_AVP";
rc_name(5008) -> "DIAMETER_AVP_NOT_ALLOWED";
rc_name(5009) -> "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES";
rc_name(5014) -> "DIAMETER_INVALID_AVP_LENGTH";
rc_name(3008) -> "DIAMETER_INVALID_HDR_BITS";
rc_name(3009) -> "DIAMETER_INVALID_AVP_BITS";
rc_name(_) -> "".

%% Supported-Features (TS 29.229): Vendor-Id 10415; nothing may be agreed
%% that we did not offer (we offer Feature-List 0)
features(M, Tag) ->
    SF = maps:get('Supported-Features', M, []),
    Bad = [F || F <- SF, maps:get('Vendor-Id', F) /= ?V3GPP orelse
                             maps:get('Feature-List', F) band (bnot ?OFFERED) /= 0],
    case Bad of
        [] -> ok;
        _ -> ko("~s: Supported-Features not offered by the GCS AS: ~p", [Tag, Bad])
    end.

%% the BM-SC's Restart-Counter must not change within one run (no restart)
restart_counter(M, Tag, What) ->
    case maps:get('Restart-Counter', M, []) of
        [] -> ok;
        [RC] -> rc_seen(RC, Tag, What);
        RC when is_integer(RC) -> rc_seen(RC, Tag, What)
    end.

rc_seen(RC, Tag, What) ->
    case get(bmsc_rc) of
        undefined -> put(bmsc_rc, RC), say("BM-SC Restart-Counter ~b (~s)", [RC, What]);
        RC -> ok;
        Old -> ko("~s: BM-SC Restart-Counter changed ~b -> ~b in a ~s without a restart",
                  [Tag, Old, RC, What])
    end.

opt(K, M) ->
    case maps:get(K, M, []) of
        [X] -> X;
        [] -> undefined;
        X -> X
    end.

do_step(Svc, O, "heartbeat", A, Tag) ->
    M = gaa(Svc, O, [{'Restart-Counter', ?OWN_RC}], Tag),
    expect_rc_only(A, Tag),
    Items = [K || K <- ['TMGI-Allocation-Response', 'TMGI-Deallocation-Response',
                        'MBMS-Bearer-Response'], opt(K, M) /= undefined],
    check(Items == [], "~s: heartbeat answered without action AVPs", [Tag]);

do_step(Svc, O, "allocate", A, Tag) ->
    Num = arg(n, A, int),
    M = gaa(Svc, O, [{'TMGI-Allocation-Request', [[{'TMGI-Number', Num}]]},
                     {'Restart-Counter', ?OWN_RC}], Tag),
    R = opt('TMGI-Allocation-Response', M),
    Tmgis = alloc_result(R, A, Tag, "TMGI-Allocation-Result"),
    case maps:find(count, A) of
        {ok, C} -> check(length(Tmgis) == list_to_integer(C), "~s: ~b TMGIs: ~s",
                         [Tag, length(Tmgis), string:join([fmt_tmgi(T) || T <- Tmgis], " ")]);
        error -> ok
    end,
    case maps:find(save, A) of
        {ok, Names} ->
            Ns = string:split(Names, ",", all),
            check(length(Ns) =< length(Tmgis), "~s: TMGIs to save", [Tag]),
            [setvar(Nm, T) || {Nm, T} <- lists:zip(lists:sublist(Ns, length(Tmgis)),
                                                  lists:sublist(Tmgis, length(Ns)))];
        error -> ok
    end;

do_step(Svc, O, "refresh", A, Tag) ->
    T = arg(tmgi, A, tmgi),
    M = gaa(Svc, O, [{'TMGI-Allocation-Request', [[{'TMGI-Number', 0}, {'TMGI', [T]}]]},
                     {'Restart-Counter', ?OWN_RC}], Tag),
    Tmgis = alloc_result(opt('TMGI-Allocation-Response', M), A, Tag, "TMGI-Allocation-Result"),
    case expect(A, tmgi_alloc) band 1 of
        1 -> check(Tmgis == [T], "~s: the refreshed TMGI is returned", [Tag]);
        0 -> ok
    end;

do_step(Svc, O, "deallocate", A, Tag) ->
    T = arg(tmgi, A, tmgi),
    M = gaa(Svc, O, [{'TMGI-Deallocation-Request', [[{'TMGI', [T]}]]},
                     {'Restart-Counter', ?OWN_RC}], Tag),
    case maps:get('TMGI-Deallocation-Response', M, []) of
        [R] ->
            check(maps:get('TMGI', R) == T, "~s: TMGI-Deallocation-Response names ~s",
                  [Tag, fmt_tmgi(T)]),
            Got = case opt('TMGI-Deallocation-Result', R) of
                      undefined -> 1; % TMGI only: deallocated (6.4.15)
                      Bits -> Bits
                  end,
            bits(expect(A, tmgi_dealloc), Got, Tag, "TMGI-Deallocation-Result");
        Rs -> ko("~s: ~b TMGI-Deallocation-Response AVPs for one TMGI", [Tag, length(Rs)])
    end;

do_step(Svc, O, "activate", A, Tag) ->
    Req = [{'MBMS-StartStop-Indication', 0}]
        ++ [{'TMGI', arg(tmgi, A, tmgi)} || maps:is_key(tmgi, A)]
        ++ [{'QoS-Information', [qos(A)]}]
        ++ [{'MBMS-Service-Area', sai(maps:get(sai, A))} || maps:is_key(sai, A)]
        ++ [{'MB2U-Security', arg(mb2u, A, int)} || maps:is_key(mb2u, A)]
        ++ [{'MBMS-Start-Time', start_time(maps:get(start, A))} || maps:is_key(start, A)],
    R = bearer(Svc, O, Req, A, Tag),
    Want = expect(A, bearer),
    case Want band 1 of
        1 ->
            Missing = [K || K <- ['TMGI', 'MBMS-Flow-Identifier', 'MBMS-Session-Duration',
                                  'BMSC-Port'], opt(K, R) == undefined]
                ++ ['BMSC-Address' || maps:get('BMSC-Address', R, []) == []],
            check(Missing == [], "~s: activation answer carries TMGI, MBMS-Flow-Identifier, "
                  "MBMS-Session-Duration, BMSC-Address, BMSC-Port (6.4.7)~s",
                  [Tag, [" - missing " ++ lists:flatten(io_lib:format("~p", [Missing]))
                         || Missing /= []]]),
            Addrs = maps:get('BMSC-Address', R, []),
            %% 6.4.7: a second BMSC-Address only with the IPv4v6 feature,
            %% which this GCS AS did not offer
            check(length(Addrs) =< 1, "~s: at most one BMSC-Address without the IPv4v6 "
                  "feature (6.4.7; got ~s)",
                  [Tag, string:join([inet:ntoa(X) || X <- Addrs], ", ")]),
            case maps:find('save-flow', A) of
                {ok, Nm} -> setvar(Nm, flow(opt('MBMS-Flow-Identifier', R)));
                error -> ok
            end,
            say("bearer ~s/~p port ~p", [fmt_tmgi(opt('TMGI', R)),
                                        flow(opt('MBMS-Flow-Identifier', R)),
                                        opt('BMSC-Port', R)]);
        0 -> ok
    end;

do_step(Svc, O, "modify", A, Tag) ->
    Req = [{'MBMS-StartStop-Indication', 2},
           {'TMGI', arg(tmgi, A, tmgi)},
           {'MBMS-Flow-Identifier', <<(arg(flow, A, int)):16>>}]
        ++ [{'QoS-Information', [qos(A)]} || maps:is_key(qci, A) orelse maps:is_key(arp, A)]
        ++ [{'MBMS-Service-Area', sai(maps:get(sai, A))} || maps:is_key(sai, A)],
    R = bearer(Svc, O, Req, A, Tag),
    ids_back(R, A, Tag);

do_step(Svc, O, "deactivate", A, Tag) ->
    Req = [{'MBMS-StartStop-Indication', 1},
           {'TMGI', arg(tmgi, A, tmgi)},
           {'MBMS-Flow-Identifier', <<(arg(flow, A, int)):16>>}],
    R = bearer(Svc, O, Req, A, Tag),
    ids_back(R, A, Tag);

do_step(_Svc, _O, "wait-gnr", A, Tag) ->
    Kind = case maps:get(kind, A, none) of
               "event" -> event;
               "expiry" -> expiry;
               K -> throw({unknown_gnr_kind, K})
           end,
    Tmo = 1000 * list_to_integer(maps:get(timeout, A, "10")),
    T = arg(tmgi, A, tmgi),
    Match =
        case Kind of
            event ->
                F = arg(flow, A, int),
                Bit = event_bit(maps:get(event, A)),
                fun(G) ->
                        [E || E <- maps:get('MBMS-Bearer-Event-Notification', G, []),
                              maps:get('TMGI', E) == T,
                              flow(maps:get('MBMS-Flow-Identifier', E)) == F,
                              maps:get('MBMS-Bearer-Event', E) band Bit /= 0] /= []
                end;
            expiry ->
                fun(G) ->
                        case opt('TMGI-Expiry', G) of
                            undefined -> false;
                            X -> lists:member(T, maps:get('TMGI', X))
                        end
                end
        end,
    case wait_gnr(Match, Tmo, Tag) of
        {ok, G, Ms} ->
            ok("~s: GNR received after ~b ms and answered with GNA 2001: ~s",
               [Tag, Ms, describe_gnr(G)]);
        timeout ->
            ko("~s: no matching GNR within ~b s (other GNRs: ~p)",
               [Tag, Tmo div 1000, [describe_gnr(G) || {G, _} <- get(gnrs)]])
    end.

event_bit("terminated") -> 1;
event_bit("activated") -> 2;
event_bit("userplane") -> 4;
event_bit("failure") -> 8.

%% GNRs are matched against those already received (kept in the process
%% dictionary) before new ones are awaited
wait_gnr(Match, Tmo, Tag) ->
    flush_gnrs(Tag),
    case lists:splitwith(fun({G, _}) -> not Match(G) end, get(gnrs)) of
        {Before, [{G, At} | After]} ->
            put(gnrs, Before ++ After),
            {ok, G, At - get(t0)};
        {_, []} ->
            receive
                {gnr, _, _, _, _} = Msg ->
                    self() ! Msg,
                    wait_gnr(Match, Tmo, Tag)
            after Tmo -> timeout
            end
    end.

flush_gnrs(Tag) ->
    receive
        {gnr, G, Errs, Avps, At} ->
            wire_flags(Avps, Tag, "GNR"),
            extra_avps(G, Tag, "GNR"),
            case decode_ok(Errs, Tag, "GNR") of
                true ->
                    check(opt('Destination-Host', G) == get(me) andalso
                          maps:get('Auth-Application-Id', G) == ?APP andalso
                          maps:get('Auth-Session-State', G) == 1,
                          "GNR decoded: ~s (Destination-Host ~s, Auth-Application-Id ~p, "
                          "Auth-Session-State ~p)",
                          [describe_gnr(G), opt('Destination-Host', G),
                           maps:get('Auth-Application-Id', G), maps:get('Auth-Session-State', G)]),
                    restart_counter(G, Tag, "GNR");
                false -> ok
            end,
            put(gnrs, get(gnrs) ++ [{G, At}]),
            flush_gnrs(Tag);
        {unexpected_request, M, _} ->
            ko("unexpected request from the BM-SC: ~P", [M, 8]),
            flush_gnrs(Tag)
    after 0 -> ok
    end.

stash_report() ->
    flush_gnrs("end"),
    [say("GNR not awaited by the scenario: ~s", [describe_gnr(G)]) || {G, _} <- get(gnrs)].

describe_gnr(G) ->
    Exp = case opt('TMGI-Expiry', G) of
              undefined -> [];
              X -> ["TMGI-Expiry " ++ string:join([fmt_tmgi(T) || T <- maps:get('TMGI', X)], ",")]
          end,
    Ev = [io_lib:format("event ~s/~b bits 0x~.16b", [fmt_tmgi(maps:get('TMGI', E)),
                                                      flow(maps:get('MBMS-Flow-Identifier', E)),
                                                      maps:get('MBMS-Bearer-Event', E)])
          || E <- maps:get('MBMS-Bearer-Event-Notification', G, [])],
    case Exp ++ Ev of
        [] -> "heartbeat";
        L -> lists:flatten(string:join(L, "; "))
    end.

%% one MBMS-Bearer-Request -> exactly one MBMS-Bearer-Response, bits checked
bearer(Svc, O, Req, A, Tag) ->
    M = gaa(Svc, O, [{'MBMS-Bearer-Request', [Req]}, {'Restart-Counter', ?OWN_RC}], Tag),
    case maps:get('MBMS-Bearer-Response', M, []) of
        [R] ->
            Got = case opt('MBMS-Bearer-Result', R) of
                      undefined -> 1; % no result: success (6.4.7)
                      B -> B
                  end,
            bits(expect(A, bearer), Got, Tag, "MBMS-Bearer-Result"),
            R;
        Rs ->
            ko("~s: ~b MBMS-Bearer-Response AVPs for one request", [Tag, length(Rs)]),
            #{}
    end.

ids_back(R, A, Tag) ->
    case expect(A, bearer) band 1 of
        1 ->
            check(opt('TMGI', R) == arg(tmgi, A, tmgi) andalso
                  flow(opt('MBMS-Flow-Identifier', R)) == arg(flow, A, int),
                  "~s: answer names the bearer (TMGI + MBMS-Flow-Identifier)", [Tag]);
        0 -> ok
    end.

alloc_result(undefined, _A, Tag, What) ->
    ko("~s: no TMGI-Allocation-Response", [Tag]), bits(0, 0, Tag, What), [];
alloc_result(R, A, Tag, What) ->
    Tmgis = maps:get('TMGI', R, []),
    Got = case opt('TMGI-Allocation-Result', R) of
              undefined when Tmgis /= [] -> 1; % TMGIs, no result: success (6.4.12)
              undefined -> 0;
              B -> B
          end,
    bits(expect(A, tmgi_alloc), Got, Tag, What),
    case Got band 1 of
        1 -> check(opt('MBMS-Session-Duration', R) /= undefined,
                   "~s: MBMS-Session-Duration with the TMGIs (~s)",
                   [Tag, fmt_dur(opt('MBMS-Session-Duration', R))]);
        0 -> ok
    end,
    Tmgis.

bits(Want, Got, Tag, What) ->
    check(Want == Got, "~s: ~s 0x~.16b (expected 0x~.16b)", [Tag, What, Got, Want]).

expect_rc_only(A, Tag) ->
    case maps:find(expect, A) of
        error -> ok;
        {ok, E} -> ko("~s: expect=~s not supported for a heartbeat", [Tag, E])
    end.

%% expect=NAME+NAME (TS 29.468 6.4.8 / 6.4.13 / 6.4.16 bit names)
expect(A, Set) ->
    Names = string:split(maps:get(expect, A, "ok"), "+", all),
    lists:foldl(fun(Nm, Acc) -> Acc bor bit(Set, Nm) end, 0, Names).

bit(_, "ok") -> 1;
bit(bearer, "auth") -> 16#2;
bit(bearer, "unknown-tmgi") -> 16#8;
bit(bearer, "ongoing") -> 16#2000;
bit(tmgi_alloc, "auth") -> 16#2;
bit(tmgi_alloc, "unknown-tmgi") -> 16#8;
bit(tmgi_dealloc, "auth") -> 16#2;
bit(tmgi_dealloc, "unknown-tmgi") -> 16#4;
bit(Set, Nm) -> throw({unknown_expectation, Set, Nm}).

%% ---------------------------------------------------------------- values

qos(A) ->
    [{'QoS-Class-Identifier', arg(qci, A, int)} || maps:is_key(qci, A)]
        ++ [{'Max-Requested-Bandwidth-DL', arg(mbr, A, int)} || maps:is_key(mbr, A)]
        ++ [{'Guaranteed-Bitrate-DL', arg(gbr, A, int)} || maps:is_key(gbr, A)]
        ++ [{'Allocation-Retention-Priority',
             [[{'Priority-Level', arg(arp, A, int)}]
              ++ [{'Pre-emption-Capability', arg(pec, A, int)} || maps:is_key(pec, A)]
              ++ [{'Pre-emption-Vulnerability', arg(pev, A, int)} || maps:is_key(pev, A)]]}
            || maps:is_key(arp, A)].

%% MBMS-Service-Area (29.061 17.7.6): N-1, then N two-octet SAIs
sai(S) ->
    L = [list_to_integer(X) || X <- string:split(S, ",", all)],
    iolist_to_binary([length(L) - 1 | [<<X:16>> || X <- L]]).

%% start=+N: N seconds from now, as a Diameter Time (datetime for OTP)
start_time("+" ++ N) ->
    Now = calendar:system_time_to_universal_time(erlang:system_time(second), second),
    calendar:gregorian_seconds_to_datetime(
      calendar:datetime_to_gregorian_seconds(Now) + list_to_integer(N)).

flow(<<F:16>>) -> F;
flow(undefined) -> undefined;
flow(F) when is_integer(F) -> F.

%% TMGI (24.008 10.5.6.13): MBMS Service ID (3 octets), MCC/MNC BCD (3)
parse_tmgi(S) ->
    [Mcc, Mnc, Sid] = string:split(S, "-", all),
    [M1, M2, M3] = [C - $0 || C <- Mcc],
    {N1, N2, N3} = case [C - $0 || C <- Mnc] of
                       [A, B] -> {A, B, 15};
                       [A, B, C] -> {A, B, C}
                   end,
    <<(list_to_integer(Sid, 16)):24, M2:4, M1:4, N3:4, M3:4, N2:4, N1:4>>.

fmt_tmgi(<<Sid:24, M2:4, M1:4, N3:4, M3:4, N2:4, N1:4>>) ->
    Mnc = case N3 of 15 -> [N1 + $0, N2 + $0]; _ -> [N1 + $0, N2 + $0, N3 + $0] end,
    lists:flatten(io_lib:format("~c~c~c-~s-~6.16.0b", [M1 + $0, M2 + $0, M3 + $0, Mnc, Sid]));
fmt_tmgi(X) -> io_lib:format("~p", [X]).

%% MBMS-Session-Duration (29.061 17.7.7): 17-bit seconds, 7-bit days
fmt_dur(<<S:17, D:7>>) -> io_lib:format("~b d ~b s", [D, S]);
fmt_dur(X) -> io_lib:format("~p", [X]).
