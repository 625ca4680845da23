import { realCliSuite } from './suite.ts';

realCliSuite('claude');
