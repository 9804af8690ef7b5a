import type { KafkaMessage, Producer } from 'kafkajs';
import { deadLetterMessage } from '@app/contracts';

export interface DeadLetter {
  topic: string;
  partition: number;
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset'>;
  reason: string;
}

/**
 * Produces dead letters (format: `deadLetterMessage` in the contracts lib). `send` resolves only
 * once the broker has the copies (acks from all in-sync replicas), so an offset is never
 * committed past a message that is neither applied nor dead-lettered.
 */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly dlqTopic: string,
  ) {}

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.producer.send({
      topic: this.dlqTopic,
      acks: -1,
      messages: letters.map((l) =>
        deadLetterMessage(
          { key: l.message.key, value: l.message.value, headers: l.message.headers },
          { topic: l.topic, partition: l.partition, offset: l.message.offset },
          l.reason,
        ),
      ),
    });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
