// SPDX-License-Identifier: MIT
//
// otlp_grpc_receiver.js: an OTLP/gRPC metrics receiver for the end-to-end
// tests, built on gRPC's own Node.js server (@grpc/grpc-js) with the vendored
// OTLP protos loaded by @grpc/proto-loader, so a request is framed, decoded
// and answered by code Gespann did not write. It listens on 127.0.0.1 (a
// random port, written to --port-file) and appends one JSON line per call to
// --out, in the shape otlp_receiver.js writes (exporters_lib.sh's otlp_query
// reads both):
//   {"seq":0,"t_ms":...,"status":"OK","path":"/...MetricsService/Export",
//    "headers":{...the HTTP/2 request headers as sent...},"flag":1,
//    "deadline_ms":...,"metadata":{...},"body":{...decoded, lowerCamelCase...}}
// grpc-js keeps the transport headers (content-type, te, grpc-timeout,
// grpc-encoding) from the application, so the receiver also watches the
// HTTP/2 streams of the server grpc-js creates (node's http2.createServer,
// wrapped before grpc-js is loaded) and logs each stream's headers and the
// compressed flag of its first message next to the call it carried (calls
// are taken in stream order; the agent has one in flight at a time).
// --fail MODE --count N answers the first N calls with MODE:
//   unavailable   UNAVAILABLE (retryable)
//   invalid       INVALID_ARGUMENT (not retried)
//   exhausted     RESOURCE_EXHAUSTED with RetryInfo{retry_delay: 2s} in
//                 grpc-status-details-bin (retried after 2 s)
//   partial       OK with partial_success{rejected_data_points: 3}
// --logs-out FILE also serves LogsService, one JSON line per call there
// ({"seq","t_ms","path","status","body"}; always answered OK).
//
//   node otlp_grpc_receiver.js --modules NODE_MODULES --proto-dir DIR --out FILE \
//        --port-file FILE [--fail MODE --count N] [--cert PEM --key PEM]
//        [--logs-out FILE]
'use strict';

const fs = require('fs');
const http2 = require('http2');
const path = require('path');

function parseArgs(argv) {
	const args = { fail: 'none', count: 0 };
	for (let i = 2; i < argv.length; i += 2) {
		const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
		if (argv[i + 1] === undefined) throw new Error(`missing value for ${argv[i]}`);
		args[key] = argv[i + 1];
	}
	for (const k of ['modules', 'protoDir', 'out', 'portFile'])
		if (!args[k]) throw new Error(`--${k} is required`);
	args.count = parseInt(args.count, 10) || 0;
	if (!['none', 'unavailable', 'invalid', 'exhausted', 'partial'].includes(args.fail))
		throw new Error(`bad --fail ${args.fail}`);
	return args;
}

const args = parseArgs(process.argv);

// ---- the wire, seen from below grpc-js ----
const streams = []; // {headers, flag}, in arrival order, taken by the calls
const createServer = http2.createServer;
const createSecureServer = http2.createSecureServer;
function watch(server) {
	server.on('stream', (stream, headers) => {
		const seen = { headers: {}, flag: null };
		for (const [k, v] of Object.entries(headers)) seen.headers[k] = String(v);
		streams.push(seen);
		stream.once('data', (chunk) => {
			seen.flag = chunk[0];
		});
	});
	return server;
}
http2.createServer = (...a) => watch(createServer(...a));
http2.createSecureServer = (...a) => watch(createSecureServer(...a));

const grpc = require(path.resolve(args.modules, '@grpc/grpc-js'));
const protoLoader = require(path.resolve(args.modules, '@grpc/proto-loader'));

// The OTLP JSON mapping's shape: lowerCamelCase, 64-bit integers as decimal
// strings, enums as numbers, so otlp_query reads it as it reads OTLP/HTTP.
const def = protoLoader.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', {
	includeDirs: [args.protoDir],
	keepCase: false,
	longs: String,
	enums: Number,
	bytes: String,
	defaults: false,
	oneofs: false,
});
const proto = grpc.loadPackageDefinition(def);
const logsDef = protoLoader.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', {
	includeDirs: [args.protoDir],
	keepCase: false,
	longs: String,
	enums: Number,
	bytes: String,
	defaults: false,
	oneofs: false,
});
const logsService = grpc.loadPackageDefinition(logsDef).opentelemetry.proto.collector.logs.v1
	.LogsService.service;
const METRICS_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
const LOGS_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

// The stream that carried a call: the first one of its method (metrics and
// logs calls may be in flight together).
function takeStream(path) {
	const i = streams.findIndex((w) => w.headers[':path'] === path);
	return i < 0 ? { headers: {}, flag: null } : streams.splice(i, 1)[0];
}
const service = proto.opentelemetry.proto.collector.metrics.v1.MetricsService.service;
// The vendored protos predate partial_success: a response may be raw bytes.
const serialize = service.Export.responseSerialize;
service.Export.responseSerialize = (v) => (Buffer.isBuffer(v.raw) ? v.raw : serialize(v));

// google.rpc.Status{code, message, details: [Any{RetryInfo{retry_delay: secs}}]}
// and partial_success by hand: a few fields are not worth more protos.
function pbVarint(n) {
	const out = [];
	do {
		out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
		n = Math.floor(n / 128);
	} while (n > 0);
	return Buffer.from(out);
}
function pbBytes(num, buf) {
	return Buffer.concat([pbVarint((num << 3) | 2), pbVarint(buf.length), buf]);
}
function pbUint(num, n) {
	return Buffer.concat([pbVarint(num << 3), pbVarint(n)]);
}
function statusWithRetryInfo(code, message, secs) {
	const duration = pbUint(1, secs);
	const retryInfo = pbBytes(1, duration);
	const any = Buffer.concat([
		pbBytes(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')),
		pbBytes(2, retryInfo),
	]);
	return Buffer.concat([pbUint(1, code), pbBytes(2, Buffer.from(message)), pbBytes(3, any)]);
}

let seq = 0;
function record(entry) {
	fs.appendFileSync(args.out, JSON.stringify(entry) + '\n');
}

function exportCall(call, callback) {
	const n = seq++;
	const wire = takeStream(METRICS_PATH);
	const deadline = call.getDeadline();
	const mode = n < args.count ? args.fail : 'none';
	const entry = {
		seq: n,
		t_ms: Date.now(),
		path: wire.headers[':path'] || '',
		contentType: wire.headers['content-type'] || '',
		contentEncoding: wire.headers['grpc-encoding'] || '',
		headers: wire.headers,
		flag: wire.flag,
		deadline_ms: Number.isFinite(+deadline) ? +deadline - Date.now() : null,
		metadata: call.metadata.getMap(),
		body: call.request,
	};
	const md = new grpc.Metadata();
	switch (mode) {
		case 'unavailable':
			entry.status = 'UNAVAILABLE';
			record(entry);
			return callback({ code: grpc.status.UNAVAILABLE, details: 'injected unavailable' });
		case 'invalid':
			entry.status = 'INVALID_ARGUMENT';
			record(entry);
			return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'injected: bad data ✓' });
		case 'exhausted':
			entry.status = 'RESOURCE_EXHAUSTED';
			record(entry);
			md.set(
				'grpc-status-details-bin',
				statusWithRetryInfo(grpc.status.RESOURCE_EXHAUSTED, 'injected: slow down', 2),
			);
			return callback({
				code: grpc.status.RESOURCE_EXHAUSTED,
				details: 'injected: slow down',
				metadata: md,
			});
		case 'partial':
			entry.status = 'OK';
			record(entry);
			// ExportMetricsServiceResponse{partial_success = 1 {rejected_data_points = 1, error_message = 2}}
			return callback(null, {
				raw: pbBytes(
					1,
					Buffer.concat([pbUint(1, 3), pbBytes(2, Buffer.from('injected: 3 points refused'))]),
				),
			});
		default:
			entry.status = 'OK';
			record(entry);
			return callback(null, {});
	}
}

let logsSeq = 0;
function logsCall(call, callback) {
	const wire = takeStream(LOGS_PATH);
	fs.appendFileSync(
		args.logsOut,
		JSON.stringify({
			seq: logsSeq++,
			t_ms: Date.now(),
			path: wire.headers[':path'] || '',
			status: 'OK',
			body: call.request,
		}) + '\n',
	);
	callback(null, {});
}

const server = new grpc.Server();
server.addService(service, { Export: exportCall });
if (args.logsOut) server.addService(logsService, { Export: logsCall });
let creds = grpc.ServerCredentials.createInsecure();
if (args.cert)
	creds = grpc.ServerCredentials.createSsl(null, [
		{ cert_chain: fs.readFileSync(args.cert), private_key: fs.readFileSync(args.key) },
	]);
server.bindAsync('127.0.0.1:0', creds, (err, port) => {
	if (err) {
		console.error(`bind: ${err.message}`);
		process.exit(1);
	}
	fs.writeFileSync(args.portFile, `${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
