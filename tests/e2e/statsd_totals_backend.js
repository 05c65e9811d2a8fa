// SPDX-License-Identifier: MIT
//
// statsd_totals_backend.js: a backend for the npm statsd daemon (0.9) used by
// t_datadog.sh. After every flush it writes, atomically, a JSON file
// (config.totalsFile) with what statsd itself parsed since it started:
//   counters: per key, the sum over all flushes (statsd's per-flush values,
//             sample rates already applied by statsd);
//   gauges:   per key, the last value;
//   observations: per key of a |h or |d line, the sum of 1/rate, i.e. the
//             number of histogram observations the lines stand for (statsd
//             0.9 folds |h into a counter of value x 1/rate, which loses it);
//   flushes:  how many flushes were written.
// Keys are statsd's: "name;tag=value;..." for DogStatsD tags.
'use strict';

const fs = require('fs');

exports.init = function (startupTime, config, events, logger) {
	const file = config.totalsFile;
	const totals = { counters: {}, gauges: {}, observations: {}, flushes: 0 };

	if (!file) {
		logger.log('statsd_totals_backend: totalsFile not set', 'ERROR');
		return false;
	}
	events.on('packet', function (msg) {
		for (const line of msg.toString().split('\n')) {
			const parts = line.split('|#');
			const tags = parts.length > 1 && parts[1].length ? parts[1].split(',') : [];
			const fields = parts[0].split('|');
			if (fields.length < 2 || (fields[1] !== 'h' && fields[1] !== 'd'))
				continue;
			let key = fields[0].split(':')[0];
			if (tags.length)
				key += ';' + tags.map((t) => t.replace(':', '=')).join(';');
			const rate = fields[2] ? Number(fields[2].slice(1)) : 1;
			totals.observations[key] = (totals.observations[key] || 0) + 1 / rate;
		}
	});
	events.on('flush', function (timestamp, metrics) {
		for (const [k, v] of Object.entries(metrics.counters))
			totals.counters[k] = (totals.counters[k] || 0) + v;
		for (const [k, v] of Object.entries(metrics.gauges))
			totals.gauges[k] = v;
		totals.flushes++;
		fs.writeFileSync(file + '.tmp', JSON.stringify(totals));
		fs.renameSync(file + '.tmp', file);
	});
	return true;
};
