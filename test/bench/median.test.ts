/**
 * The benchmarks' median (bench/median.ts): the middle value of an odd count, the mean of the
 * two middle ones of an even count (the scripts took the upper one before session 24).
 */
import t from 'tap';
import { median } from '../../bench/median.js';

const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;
t.ok(near(median([0.86, 0.71, 0.71, 0.86]), 0.785), 'even count: the mean of the two middle values');
t.ok(near(median([0.51, 0.64, 0.58, 0.62]), 0.6), 'unsorted input');
t.equal(median([3, 1, 2]), 2, 'odd count: the middle value');
t.equal(median([5]), 5);
t.ok(Number.isNaN(median([])), 'no rounds: NaN');
