import { resolve } from 'node:path';
import { describe } from 'vitest';
import { readmeExampleTests } from '../../../tools/testing/readme-example.js';

// What users copy from the README must compile against the package as published.
describe('the README example', () => readmeExampleTests(resolve(import.meta.dirname, '..')));
