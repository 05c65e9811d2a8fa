// SPDX-License-Identifier: MIT
//
// otlp_logs_receiver.js: an OTLP/HTTP receiver of metrics and logs for
// t_otlp_logs.sh. It decodes with protobufjs (npm), from the .proto files
// vendored in third_party/opentelemetry-proto, not with the agent's own
// protobuf-c code: the newest field the agent sends (LogRecord.event_name)
// is in those files, where the npm OpenTelemetry package's generated code
// predates it. It listens on 127.0.0.1 (a random port, written to
// --port-file), gunzips when Content-Encoding: gzip, decodes every POST
// (/v1/metrics: ExportMetricsServiceRequest, /v1/logs:
// ExportLogsServiceRequest; JSON bodies with JSON.parse) and appends one JSON
// line per request to --out:
//   {"seq":0,"t_ms":...,"url":"/v1/logs","status":200,"contentType":"...",
//    "contentEncoding":"...","body":{...decoded, lowerCamelCase...}}
// Protobuf bodies are converted with 64-bit integers as decimal strings and
// enums as numbers, as the OTLP JSON mapping writes them, so both read the
// same. --fail-logs STATUS answers every /v1/logs request with that status
// (503: a retryable failure) after decoding it; --fail-logs hang never
// answers them (the client's timeout ends each).
//
//   node otlp_logs_receiver.js --protobufjs PATH/TO/protobufjs --protos DIR \
//        --out FILE --port-file FILE [--fail-logs 503|hang]
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');

function parseArgs(argv) {
	const args = { failLogs: 0 };
	const names = { 'port-file': 'portFile', 'fail-logs': 'failLogs' };
	for (let i = 2; i < argv.length; i += 2) {
		const key = argv[i].replace(/^--/, '');
		const value = argv[i + 1];
		if (value === undefined) throw new Error(`missing value for ${argv[i]}`);
		args[names[key] || key] = value;
	}
	for (const k of ['protobufjs', 'protos', 'out', 'portFile'])
		if (!args[k]) throw new Error(`--${k} is required`);
	if (args.failLogs !== 'hang') args.failLogs = parseInt(args.failLogs, 10) || 0;
	return args;
}

const args = parseArgs(process.argv);
const protobuf = require(args.protobufjs);
const root = new protobuf.Root();
root.resolvePath = (origin, target) => path.join(args.protos, target);
root.loadSync([
	'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
	'opentelemetry/proto/collector/logs/v1/logs_service.proto',
]);
const kinds = {
	'/v1/metrics': {
		req: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
		resp: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
	},
	'/v1/logs': {
		req: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
		resp: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
	},
};
let seq = 0;

function decode(kind, body, contentType) {
	if (contentType.startsWith('application/json')) return JSON.parse(body.toString('utf8'));
	const msg = kind.req.decode(body);
	return kind.req.toObject(msg, { longs: String, enums: Number, bytes: String });
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const contentType = req.headers['content-type'] || '';
		const contentEncoding = req.headers['content-encoding'] || '';
		const url = req.url.split('?')[0];
		const kind = kinds[url];
		const entry = { seq: seq++, t_ms: Date.now(), method: req.method, url, contentType, contentEncoding };
		let status = 200;
		try {
			if (!kind) throw new Error(`no such path ${req.url}`);
			let body = Buffer.concat(chunks);
			if (contentEncoding === 'gzip') body = zlib.gunzipSync(body);
			entry.body = decode(kind, body, contentType);
		} catch (e) {
			entry.error = String(e);
			status = kind ? 400 : 404;
		}
		const hang = status === 200 && url === '/v1/logs' && args.failLogs === 'hang';
		if (status === 200 && url === '/v1/logs' && args.failLogs && !hang) status = args.failLogs;
		entry.status = hang ? 0 : status;
		fs.appendFileSync(args.out, JSON.stringify(entry) + '\n');
		if (hang) return;
		if (status !== 200) {
			res.writeHead(status, { 'Content-Type': 'text/plain' });
			res.end(entry.error || `injected ${status}\n`);
		} else if (contentType.startsWith('application/json')) {
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end('{}');
		} else {
			res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
			res.end(Buffer.from(kind.resp.encode(kind.resp.create({})).finish()));
		}
	});
});

server.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(args.portFile, `${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
