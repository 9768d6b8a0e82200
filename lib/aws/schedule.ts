import { TimeZone } from 'aws-cdk-lib';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface QuarterlyScheduleProps {
  stateMachine: IStateMachine;
  /** IANA time zone from config `schedule.timezone`. */
  timezone: string;
}

/** What the schedule sends; the campaign records it as how the review was started. */
export const SCHEDULED_INPUT = { trigger: 'schedule', requestedBy: 'schedule' } as const;

/** 09:00 local time on the first day of each quarter (January, April, July, October). */
export class QuarterlySchedule extends Construct {
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: QuarterlyScheduleProps) {
    super(scope, id);
    this.schedule = new Schedule(this, 'Schedule', {
      description: 'access-review: quarterly user access review',
      schedule: ScheduleExpression.cron({
        minute: '0',
        hour: '9',
        day: '1',
        month: '1,4,7,10',
        timeZone: TimeZone.of(props.timezone),
      }),
      target: new StepFunctionsStartExecution(props.stateMachine, {
        input: ScheduleTargetInput.fromObject(SCHEDULED_INPUT),
      }),
    });
  }
}
